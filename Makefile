# The course's two commands (see README.md):
#   make book   set up .venv, fetch MNIST, regenerate exercises/ from solutions/, run chapter 6's
#               reference training (minutes on a CPU, only when its notebook changed), build the book
#   make test   the same set-up and book build, then the whole test suite
#   make test-fast  (for developers) the set-up, then the tests that need no book, kernel, sandbox or
#               server: the grader's unit tests and the course library's (under a minute)
# Both are idempotent: a second run with nothing changed only re-checks.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
# nbgrader runs `alembic` by name when it creates a gradebook: keep the venv's bin/ on PATH.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

SOLUTIONS := $(shell find solutions -type f -not -path '*/.ipynb_checkpoints/*' 2>/dev/null)

.PHONY: book test test-fast setup data release reference clean
.DELETE_ON_ERROR:

book: setup data release reference
	$(VENV)/bin/jupyter-book build . --builder html -W -n --keep-going

test: book
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest -m "not slow and not sandbox and not book and not browser and not postgres"

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt autograder/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	# rfc3987-syntax, an optional extra of jsonschema that jupyter-events pulls in, builds a parser
	# when imported: 2.5 s on every `import nbformat` (each grading process, each book page).
	# Nothing here needs it (jsonschema then skips its "iri" format check); pip check stays clean.
	$(PY) -m pip uninstall --yes --quiet rfc3987-syntax
	# The venv's own "python3" kernel, so that a user-level kernelspec never runs the notebooks.
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (RNN course)" >/dev/null
	touch $@

data: setup
	$(PY) -m autograder data

# Regenerate exercises/ only when an instructor notebook or the nbgrader settings changed.
release: _build/.released

_build/.released: $(VENV)/.installed $(SOLUTIONS) nbgrader_config.py autograder/src/autograder/grader/nbconfig.py
	$(PY) -m autograder release
	mkdir -p _build && touch $@

# Chapter 6's full training run (the book shows its curves and asserts its test accuracy).
# It re-runs only when the instructor notebook or the helpers it uses change.
REFERENCE := _build/reference/06_mnist_classifier/mnist_classifier.json
reference: $(REFERENCE)

$(REFERENCE): $(VENV)/.installed solutions/06_mnist_classifier/mnist_classifier.ipynb \
              autograder/src/autograder/data.py autograder/src/autograder/training.py
	$(MAKE) --no-print-directory data
	$(PY) -m autograder reference 06_mnist_classifier

clean:
	rm -rf _build autograder/grading
