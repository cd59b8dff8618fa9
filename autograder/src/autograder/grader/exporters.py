"""The HTML exporter of the feedback pages: nbconvert's, with its templates compiled once per process.

nbgrader makes a new exporter for every ``generate_feedback`` call, and with it a new Jinja
environment that compiles nbconvert's HTML templates again: about a tenth of a second of the
grader's worker per student (measured with py-spy, December 2026). :class:`FeedbackHTMLExporter`
is ``HTMLExporter`` with a Jinja bytecode cache shared by every instance in the process, so the
templates are compiled for the first student only. Jinja checks each cached entry against its
template's source (a checksum), so an edited template is compiled again; and the entries are
keyed by the environment's settings that change compiled code. Configured in :mod:`.nbconfig`
(``GenerateFeedback.exporter_class``).
"""

from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from nbconvert.exporters import HTMLExporter


class MemoryBytecodeCache(BytecodeCache):
    """Compiled templates in memory, keyed by the template and the environment's compile settings."""

    def __init__(self) -> None:
        self.store: dict[tuple[str, ...], bytes] = {}

    @staticmethod
    def _key(bucket: Bucket) -> tuple[str, ...]:
        env = bucket.environment
        return (bucket.key, str(env.is_async), str(env.autoescape), ",".join(sorted(env.extensions)))

    def load_bytecode(self, bucket: Bucket) -> None:
        data = self.store.get(self._key(bucket))
        if data is not None:
            bucket.bytecode_from_string(data)  # rejected by Jinja if the template's source changed

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.store[self._key(bucket)] = bucket.bytecode_to_string()

    def clear(self) -> None:
        self.store.clear()


SHARED_CACHE = MemoryBytecodeCache()


class FeedbackHTMLExporter(HTMLExporter):
    """nbconvert's HTML exporter whose Jinja environment uses :data:`SHARED_CACHE`."""

    def _create_environment(self):  # noqa: ANN202 - jinja2.Environment, as nbconvert's
        environment = super()._create_environment()
        environment.bytecode_cache = SHARED_CACHE
        return environment
