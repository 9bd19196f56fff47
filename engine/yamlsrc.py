"""Safe YAML loading that remembers where every node came from, within limits.

Validation errors must point at ``FILE:LINE:COL``. PyYAML's safe composer (libyaml's, where PyYAML
has it) gives us a node tree with marks; we build plain Python data from it (same types as
``yaml.safe_load``) and keep the tree, so later stages can say where a value was written: a position
is looked up along its JSON path only when an error or a message needs it, never built per node.

Every input is hostile until checked, so before any data is built (``Limits``, README "Limits"):
the file must be a regular file of at most ``max_bytes``, UTF-8, without NUL bytes; the composed node
graph (the same for the pure-Python and the C loader) must nest at most ``max_depth`` collections deep,
hold no recursive alias, and its aliases and merge keys may add at most ``max_alias_nodes`` nodes
(each alias counted as the full size of what it expands to, so a "billion laughs" is refused from the
graph's shape in milliseconds, without expanding anything). Mapping keys must be strings.
"""

from __future__ import annotations

import functools
import operator
import os
import pickle
import signal
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, NoReturn

import yaml

from engine.errors import IntentError, Location, ValidationError
from engine.frozen import frozen

JsonPath = tuple[str | int, ...]


@dataclass
class SourceDoc:
    """A loaded document: its data and where each path of it was written.

    A YAML document keeps its node tree (``root``) and finds a position by walking it along the JSON
    path, as ``_build`` read it: the first string key of that name (a duplicate or a key that is not a
    string was refused), never below a node ``_build`` did not read into (``opaque``). Other sources
    (INI inventories) give ``positions`` and ``key_positions`` outright."""

    path: Path
    data: Any
    positions: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    root: yaml.Node | None = field(default=None, repr=False)
    opaque: set[int] = field(default_factory=set, repr=False)  # id() of nodes whose content was not read
    # A float with nothing after the point (``10.0``) was read: JSON Schema counts it as an integer, the
    # engine does not (it would render ``vlan 10.0``), so the loader words it against the schema.
    whole_floats: bool = field(default=False, repr=False)
    # The text and limits ``data`` was read from in another process (``load_yaml_later``): its node tree
    # is composed here only when a position is first asked for (an error, a message).
    unread: tuple[str, Limits] | None = field(default=None, repr=False)

    def at(self, json_path: JsonPath) -> Location:
        """The location of ``json_path``, or of its nearest written ancestor."""
        if self.unread is not None:
            self._compose()
        if self.root is not None:
            node, _, _ = self._walk(json_path)
            return Location(str(self.path), node.start_mark.line + 1, node.start_mark.column + 1, tuple(json_path))
        probe = tuple(json_path)
        while probe and probe not in self.positions:
            probe = probe[:-1]
        line, col = self.positions.get(probe, (1, 1))
        return Location(str(self.path), line, col, tuple(json_path))

    def item_locations(self, json_path: JsonPath, count: int) -> list[str]:
        """``str(self.at((*json_path, index)))`` for each index below ``count``, from one walk to the list
        (a site's thousand intents are each located: walking from the root for each was 3 ms)."""
        if self.unread is not None:
            self._compose()
        if self.root is not None:
            node, _, whole = self._walk(json_path)
            if whole and type(node) is yaml.SequenceNode and id(node) not in self.opaque and count <= len(node.value):
                file = str(self.path)
                return [f"{file}:{item.start_mark.line + 1}:{item.start_mark.column + 1}" for item in node.value[:count]]
        return [str(self.at((*json_path, index))) for index in range(count)]

    def at_key(self, json_path: JsonPath) -> Location:
        """The location of the key that introduces ``json_path`` (for "unknown key" errors)."""
        if self.unread is not None:
            self._compose()
        if self.root is not None:
            _, key, whole = self._walk(json_path)
            if whole and key is not None:
                return Location(str(self.path), key.start_mark.line + 1, key.start_mark.column + 1, tuple(json_path))
            return self.at(json_path)
        if json_path in self.key_positions:
            line, col = self.key_positions[json_path]
            return Location(str(self.path), line, col, tuple(json_path))
        return self.at(json_path)

    def _compose(self) -> None:
        """The node tree of the text ``data`` was read from (the same text and limits: the same tree)."""
        assert self.unread is not None
        text, limits = self.unread
        self.unread = None
        tree = load_text(text, str(self.path), limits=limits)
        self.root, self.opaque = tree.root, tree.opaque

    def _walk(self, json_path: JsonPath) -> tuple[yaml.Node, yaml.Node | None, bool]:
        """The deepest node along ``json_path``, the key node of its last step (None after a list
        index), and whether the whole path was found."""
        node = self.root
        assert node is not None
        key: yaml.Node | None = None
        for part in json_path:
            if id(node) in self.opaque:
                return node, key, False
            child = None
            if type(node) is yaml.MappingNode and isinstance(part, str):
                for key_node, value_node in node.value:
                    if type(key_node) is yaml.ScalarNode and key_node.tag == _STR and key_node.value == part:
                        child, key = value_node, key_node
                        break
            elif type(node) is yaml.SequenceNode and isinstance(part, int) and 0 <= part < len(node.value):
                child, key = node.value[part], None
            if child is None:
                return node, key, False
            node = child
        return node, key, True


class Vaulted(str):
    """An ansible-vault encrypted value: kept opaque, never decrypted, never shown."""

    def __repr__(self) -> str:
        return "Vaulted(<encrypted>)"


class Unsafe(str):
    """An Ansible ``!unsafe`` string: taken as written, its ``{{ }}`` never a reference."""


class _ResolvedOnce:
    """A safe loader's tag resolution, each text resolved once per document, and no Python call per node
    for what a safe loader does not use. The composer (libyaml's too) asks ``resolve`` for every node
    and calls ``descend_resolver``/``ascend_resolver`` around each, for path resolvers; a safe loader
    has none, so a node's tag depends on its kind and text alone (a quoted scalar is a string), and a
    fabric writes the same keys and values on every device and link. Each loader gets its own memo of
    the stock resolver's answers (C calls, freed with the loader) and C no-ops for the two hooks."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)  # type: ignore[call-arg]
        if not self.yaml_path_resolvers and \
                type(self).yaml_implicit_resolvers is yaml.resolver.Resolver.yaml_implicit_resolvers:  # type: ignore[attr-defined]
            vars(self).update(  # instance attributes, over the resolver's methods
                resolve=functools.lru_cache(maxsize=None)(_STOCK_RESOLVER.resolve),
                descend_resolver=operator.is_,  # (parent, index) -> ignored
                ascend_resolver=tuple)  # () -> ignored

    yaml_path_resolvers: ClassVar[dict[Any, Any]]


_STOCK_RESOLVER = yaml.resolver.Resolver()  # a safe loader's resolver, used only to answer resolve()


class _Loader(_ResolvedOnce, yaml.SafeLoader):
    """SafeLoader: only plain YAML types, never Python objects (plus opaque ``!vault`` values).

    Its composer counts how deep it is, so a deeply nested file is refused before Python's
    recursion limit is reached (the C loader has its own cap of 1000 levels; the graph check
    below applies ``max_depth`` to both).
    """

    max_depth = 100

    # The scanner keeps a possible simple key per flow level, so "[[[[..." costs it O(depth) per token:
    # refuse the level past the limit where the scanner opens it, before that can grow.
    def fetch_flow_collection_start(self, token_class: type) -> None:
        if self.flow_level >= self.max_depth:
            raise _TooDeep(self.get_mark())
        super().fetch_flow_collection_start(token_class)

    def add_indent(self, column: int) -> bool:
        if len(self.indents) > self.max_depth:
            raise _TooDeep(self.get_mark())
        return super().add_indent(column)

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > self.max_depth + 1:
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise _TooDeep(event.start_mark)
            return super().compose_node(parent, index)  # type: ignore[arg-type]
        finally:
            self._depth -= 1


class _TooDeep(Exception):
    def __init__(self, mark: yaml.Mark | None) -> None:
        self.mark = mark


def _vault(loader: yaml.SafeLoader, node: yaml.Node) -> Vaulted:
    return Vaulted(loader.construct_scalar(node))  # type: ignore[arg-type]


def _unsafe(loader: yaml.SafeLoader, node: yaml.Node) -> Unsafe:
    return Unsafe(loader.construct_scalar(node))  # type: ignore[arg-type]


_Loader.add_constructor("!vault", _vault)
_Loader.add_constructor("!unsafe", _unsafe)

# The C loader (libyaml), when PyYAML has it, with the same constructors and the same checks.
if getattr(yaml, "CSafeLoader", None) is not None:
    class _CLoader(_ResolvedOnce, yaml.CSafeLoader):
        """libyaml's parser and composer with the safe constructor (plus opaque ``!vault`` values)."""

    _CLoader.add_constructor("!vault", _vault)
    _CLoader.add_constructor("!unsafe", _unsafe)
    C_LOADER: type | None = _CLoader
else:  # pragma: no cover - PyYAML built without libyaml
    C_LOADER = None
PY_LOADER: type = _Loader


@frozen
class Limits:
    """How much a YAML file may ask of the parser. Defaults fit any real site; raise them if one does not.

    Set with ``intent --max-yaml-bytes/--max-yaml-depth/--max-yaml-alias-nodes`` or the environment
    variables ``INTENT_MAX_YAML_BYTES``, ``INTENT_MAX_YAML_DEPTH``, ``INTENT_MAX_YAML_ALIAS_NODES``.
    """

    max_bytes: int = 32 * 1024 * 1024  # 32 MiB per file
    max_depth: int = 100  # nested mappings/sequences
    max_alias_nodes: int = 100_000  # nodes that aliases and merge keys may add

    ENV: ClassVar[dict[str, str]] = {"max_bytes": "INTENT_MAX_YAML_BYTES", "max_depth": "INTENT_MAX_YAML_DEPTH",
           "max_alias_nodes": "INTENT_MAX_YAML_ALIAS_NODES"}

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Limits:
        """The defaults, raised or lowered by the ``INTENT_MAX_YAML_*`` variables."""
        environ = dict(os.environ if environ is None else environ)
        values: dict[str, int] = {}
        for name, variable in cls.ENV.items():
            text = environ.get(variable)
            if text is None or text == "":
                continue
            if not (text.isascii() and text.isdigit()) or int(text) < 1:
                raise IntentError(f"{variable}={text!r}: must be a whole number of at least 1")
            values[name] = int(text)
        return cls(**values)


_configured: Limits | None = None


def set_limits(limits: Limits | None) -> None:
    """Limits for every later ``load_yaml`` of this process (the CLI's options); None: from the environment."""
    global _configured
    _configured = limits


def current_limits() -> Limits:
    return _configured if _configured is not None else Limits.from_env()


def _located(shown: str, line: int, col: int, message: str) -> ValidationError:
    return ValidationError([(Location(shown, line, col, ()), message)])


def read_text(path: Path, shown: str, limits: Limits) -> str:
    """The file's text: a regular file, at most ``limits.max_bytes``, UTF-8 without NUL bytes."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise _located(shown, 1, 1, "file not found") from None
    except OSError as exc:
        raise _located(shown, 1, 1, f"cannot read file: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise _located(shown, 1, 1, "not a regular file")
    if info.st_size > limits.max_bytes:
        raise _located(shown, 1, 1, _too_big(info.st_size, limits))
    try:
        with path.open("rb") as handle:
            data = handle.read(limits.max_bytes + 1)
    except OSError as exc:
        raise _located(shown, 1, 1, f"cannot read file: {exc.strerror or exc}") from None
    if len(data) > limits.max_bytes:
        raise _located(shown, 1, 1, _too_big(len(data), limits))
    return decode(data, shown)


def _too_big(size: int, limits: Limits) -> str:
    return (f"file is {size} bytes, over the limit of {limits.max_bytes} "
            f"(raise it with --max-yaml-bytes or {Limits.ENV['max_bytes']})")


def decode(data: bytes, shown: str) -> str:
    """UTF-8 text of ``data`` (a BOM is dropped); NUL bytes and invalid UTF-8 refused at their position."""
    nul = data.find(b"\x00")
    if nul >= 0:
        line, col = _position(data, nul)
        raise _located(shown, line, col, "NUL byte in the file: not a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, col = _position(data, exc.start)
        raise _located(shown, line, col, f"not UTF-8: byte 0x{data[exc.start]:02x} cannot start or continue "
                                         "a UTF-8 character (save the file as UTF-8)") from None


def _position(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    return line, offset - (data.rfind(b"\n", 0, offset) + 1) + 1


def load_yaml(path: Path, display: str | None = None, *, limits: Limits | None = None,
              loader_class: type | None = None) -> SourceDoc:
    """Load one YAML file safely, within ``limits``, keeping a position for every node.

    Duplicate mapping keys are an error (PyYAML silently keeps the last one), and so are keys that
    are not strings (``1234:``, ``yes:``, ``~:``).
    """
    shown = display or str(path)
    limits = limits or current_limits()
    early = _prefetched.pop((str(path), shown), None)
    if early is not None:
        if early.limits == limits and loader_class is None:
            return early.result()
        early.close()  # asked for otherwise than it was started: read again, as asked
    text = read_text(path, shown, limits)
    return load_text(text, shown, limits=limits, loader_class=loader_class)


_prefetched: dict[tuple[str, str], LaterLoad] = {}  # (path, name shown) -> its load, started by ``prefetch``


def prefetch(path: Path, display: str | None = None) -> LaterLoad:
    """Start ``load_yaml(path, display)`` now, for the call of it that comes later in this process: a
    large file is parsed meanwhile in a forked child (``LaterLoad``), so a command can start on its
    site file before it imports what it needs to use it (the CLI's modules, some 50-80 ms of a plan,
    before a 150 KB site file's 24 ms of parsing). That call takes the load's result when asked with the
    same limits, else reads the file again. The load returned is ``close()``d by the caller once done
    (which kills a child not yet waited for: the call never came)."""
    early = LaterLoad(path, display)
    previous = _prefetched.pop((str(path), early.shown), None)
    if previous is not None:
        previous.close()
    _prefetched[(str(path), early.shown)] = early
    return early


FORK_BYTES = 64 * 1024  # a smaller file parses in less time (~15 ms) than a fork and its pickle cost to save


class LaterLoad:
    """``load_yaml(path, display)`` started now and finished by ``result()``: a large file is parsed
    meanwhile in a forked child, where a core is idle (``engine.parallel.worker_count``), so this process
    reads another file at the same time. The child sends back the data alone (pickled), or the
    ValidationError's problems; the node tree is composed here only when a position is asked for
    (``SourceDoc.unread``). The file is read here, now (so both processes parse the same text, and a
    file that cannot be read is refused as ``load_yaml`` does, when ``result()`` is asked). Whatever goes
    wrong with the child (it cannot be forked, dies, sends what does not unpickle) only means the text is
    parsed here: ``result()`` returns or raises what ``load_yaml`` would. ``close()`` kills and waits for
    a child not yet waited for (an exception between the two)."""

    def __init__(self, path: Path, display: str | None = None) -> None:
        self.shown = display or str(path)
        self.limits = current_limits()
        self.text: str | None = None
        self.refused: ValidationError | None = None
        self.child: tuple[int, int] | None = None  # pid, read end of its pipe
        try:
            self.text = read_text(path, self.shown, self.limits)
        except ValidationError as exc:
            self.refused = exc
            return
        if len(self.text) >= FORK_BYTES and _may_fork():
            self.child = _fork_load(self.text, self.shown, self.limits)

    def result(self) -> SourceDoc:
        if self.refused is not None:
            raise self.refused
        assert self.text is not None
        sent = self._receive()
        if sent is None:
            return load_text(self.text, self.shown, limits=self.limits)
        if sent[0] == "problems":
            raise ValidationError(sent[1])
        _, data, whole_floats = sent
        return SourceDoc(Path(self.shown), data, whole_floats=whole_floats, unread=(self.text, self.limits))

    def _receive(self) -> tuple[Any, ...] | None:
        """What the child sent, once it has ended; None without a child or a whole message from it."""
        if self.child is None:
            return None
        pid, read_end = self.child
        chunks = []
        try:
            while chunk := os.read(read_end, 1 << 20):
                chunks.append(chunk)
        except OSError:
            chunks = []
        finally:
            os.close(read_end)
            self.child = None
            _, status = os.waitpid(pid, 0)
        if status != 0 or not chunks:
            return None
        try:
            sent: tuple[Any, ...] = pickle.loads(b"".join(chunks))
        except Exception:  # noqa: BLE001 - parsed here instead
            return None
        return sent

    def close(self) -> None:
        for key, load in list(_prefetched.items()):
            if load is self:
                del _prefetched[key]
        if self.child is not None:
            pid, read_end = self.child
            self.child = None
            os.close(read_end)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)


def _may_fork() -> bool:
    """Whether a second process may work beside this one now, as ``engine.parallel`` would fork one."""
    from engine import parallel  # noqa: PLC0415 - only where a file is large enough to ask

    try:
        return parallel.worker_count(2 * parallel.MIN_ITEMS_PER_WORKER) > 1
    except IntentError:  # a bad INTENT_WORKERS: said where the per-device work asks for it
        return False


def _fork_load(text: str, shown: str, limits: Limits) -> tuple[int, int] | None:
    """A child that parses ``text`` and sends back ("data", data, whole_floats) or ("problems", problems),
    pickled, then ends (without the parent's exit handlers); its pid and the read end of its pipe."""
    try:
        read_end, write_end = os.pipe()
    except OSError:
        return None
    try:
        import fcntl  # noqa: PLC0415 - Unix only, like os.fork

        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 1 << 20)  # the child need not wait for the parent to read
    except (ImportError, AttributeError, OSError):
        pass
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:  # the child: never returns
        code = 1
        try:
            os.close(read_end)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent answers Ctrl-C (and kills its child)
            try:
                doc = load_text(text, shown, limits=limits)
                sent: tuple[Any, ...] = ("data", doc.data, doc.whole_floats)
            except ValidationError as exc:
                sent = ("problems", exc.problems)
            message = memoryview(pickle.dumps(sent, protocol=pickle.HIGHEST_PROTOCOL))
            while message:
                message = message[os.write(write_end, message):]
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    return pid, read_end


def load_text(text: str, shown: str, *, limits: Limits | None = None, loader_class: type | None = None) -> SourceDoc:
    """``load_yaml`` of text already read (``shown`` names it in errors)."""
    limits = limits or current_limits()
    if "\x00" in text:
        nul = text.index("\x00")
        raise _located(shown, text.count("\n", 0, nul) + 1, nul - (text.rfind("\n", 0, nul) + 1) + 1,
                       "NUL byte in the file: not a text file")
    loader_class = loader_class or C_LOADER or PY_LOADER  # libyaml when there: ~10x faster, same marks
    loader: Any = None
    try:
        loader = loader_class(text)
        if isinstance(loader, _Loader):
            loader.max_depth = limits.max_depth
        node = loader.get_single_node()
    except _TooDeep as exc:
        line, col = (exc.mark.line + 1, exc.mark.column + 1) if exc.mark else (1, 1)
        raise _located(shown, line, col, _too_deep(limits)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or str(exc)
        if "maximum nesting depth" in problem:  # libyaml's own cap
            problem = _too_deep(limits)
        else:
            problem = f"invalid YAML: {problem}"
        raise _located(shown, line, col, problem) from None
    except yaml.reader.ReaderError as exc:
        before = text[:exc.position]
        line, col = before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1
        character = exc.character if isinstance(exc.character, str) else chr(exc.character)
        raise _located(shown, line, col, f"invalid YAML: character U+{ord(character):04X} is not allowed "
                                         "(control characters cannot appear in YAML)") from None
    except yaml.YAMLError as exc:
        raise _located(shown, 1, 1, f"invalid YAML: {exc}") from None
    except RecursionError:  # a parser path we did not foresee: still a located refusal, never a crash
        raise _located(shown, 1, 1, _too_deep(limits)) from None
    finally:
        if loader is not None:
            loader.dispose()
    doc = SourceDoc(Path(shown), None)
    if node is None:
        return doc
    aliased = "*" in text
    if aliased:
        check_graph(node, shown, limits)  # before anything is expanded; without an alias no node is shared
    errors: list[tuple[Location, str]] = []
    doc.root = node
    # A merge key is the plain scalar "<<" or a tag (every tag starts with "!"), and "=" resolves to the
    # value tag flatten_mapping renames: without any, flattening a mapping changes nothing.
    build = _Build(loader, doc, errors, "<<" in text or "=" in text or "!" in text)
    try:
        doc.data = build.value(node, (), 1)
    except RecursionError:  # too deep for Python: say how deep (check_graph), else that the limit is too high
        check_graph(node, shown, limits)
        raise _located(shown, 1, 1, _too_deep(limits) + ": lower --max-yaml-depth") from None
    if not aliased and (build.deepest > limits.max_depth or errors):
        check_graph(node, shown, limits)  # too deep: refused at the node where it is (a subtree left unread
        # for an error above was not counted, and depth is said first)
    if errors:
        raise ValidationError(errors)
    return doc


def _too_deep(limits: Limits) -> str:
    return (f"nested more than {limits.max_depth} levels deep "
            f"(raise the limit with --max-yaml-depth or {Limits.ENV['max_depth']})")


def check_graph(root: yaml.Node, shown: str, limits: Limits) -> None:
    """Refuse, before anything is expanded, a node graph that is recursive, too deep, or whose aliases
    expand too far. One pass over the distinct collections (iterative: no recursion to overflow).

    Scalars count one node each and are not tracked: an alias to a scalar adds one node, so only
    aliases to collections can multiply, and those are counted at their full expanded size."""
    if not isinstance(root, yaml.CollectionNode):
        return
    scalar, mapping = yaml.ScalarNode, yaml.MappingNode
    size: dict[int, int] = {}  # id(collection) -> nodes in its full expansion
    height: dict[int, int] = {}  # id(collection) -> collections nested in it, itself included
    claimed: set[int] = set()  # collections reached once already: every further edge to one is an alias use
    on_path: set[int] = set()  # the collections from the root down to the current one
    added = 0
    stack: list[tuple[yaml.Node, list[yaml.Node] | None]] = [(root, None)]

    def fail(node: yaml.Node, message: str) -> NoReturn:
        raise _located(shown, node.start_mark.line + 1, node.start_mark.column + 1, message)

    while stack:
        node, kids = stack.pop()
        key = id(node)
        if kids is None:  # entering
            if key in size:
                continue
            kids = [child for pair in node.value for child in pair] if type(node) is mapping else node.value
            on_path.add(key)
            stack.append((node, kids))
            for child in kids:
                if type(child) is not scalar:
                    if id(child) in on_path:
                        fail(child, "recursive alias: this node contains itself")
                    if id(child) not in size:
                        stack.append((child, None))
            continue
        on_path.discard(key)
        total, deepest = 1, 0
        for child in kids:
            if type(child) is scalar:
                total += 1
                continue
            child_key = id(child)
            child_size = size[child_key]
            total += child_size
            if height[child_key] > deepest:
                deepest = height[child_key]
            if child_key in claimed:
                added += child_size
                if added > limits.max_alias_nodes:
                    fail(child, f"aliases expand to more than {limits.max_alias_nodes} nodes (a YAML bomb?); "
                                f"raise the limit with --max-yaml-alias-nodes or {Limits.ENV['max_alias_nodes']}")
            else:
                claimed.add(child_key)
        size[key] = total
        height[key] = deepest + 1
        if deepest + 1 > limits.max_depth:
            fail(node, _too_deep(limits))


_PLAIN_TAGS = {
    f"tag:yaml.org,2002:{name}" for name in ("map", "seq", "str", "int", "float", "bool", "null", "timestamp", "merge")
} | {"!vault", "!unsafe"}
_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_SCALAR_KINDS = {"tag:yaml.org,2002:int": "integer", "tag:yaml.org,2002:float": "number",
                 "tag:yaml.org,2002:timestamp": "date", "tag:yaml.org,2002:bool": "boolean"}
_KEY_KINDS = {"tag:yaml.org,2002:int": "a number", "tag:yaml.org,2002:float": "a number",
              "tag:yaml.org,2002:bool": "a boolean", "tag:yaml.org,2002:null": "null",
              "tag:yaml.org,2002:timestamp": "a date"}


class _Build:
    """Plain data from a node tree; problems go to ``errors`` at their node (nothing is recorded per node
    otherwise: ``SourceDoc.at`` walks the tree when a position is asked for). ``deepest``: how many
    collections deep the tree nests (the height ``check_graph`` gives it), counted on the way."""

    def __init__(self, loader: yaml.SafeLoader, doc: SourceDoc, errors: list[tuple[Location, str]],
                 flatten: bool) -> None:
        self.loader, self.doc, self.errors, self.flatten = loader, doc, errors, flatten
        self.deepest = 0

    def value(self, node: yaml.Node, json_path: JsonPath, depth: int) -> Any:
        """``node`` as data; ``depth``: collections from the root to ``node``, itself included if one."""
        node_type = type(node)
        tag = node.tag
        if node_type is _SCALAR and tag == _STR:
            return node.value  # what the safe constructor gives for a plain string, without its dispatch
        if node_type is _SCALAR and tag == _INT:
            text = node.value  # decimal digits without a leading zero: construct_yaml_int's int(text), 1 us not 7
            if text.isascii() and text.isdigit() and (text[0] != "0" or text == "0") and len(text) <= 18:
                return int(text)
        doc, errors = self.doc, self.errors
        if tag not in _PLAIN_TAGS:
            doc.opaque.add(id(node))
            errors.append((_where(doc, node, json_path), f"unsupported YAML tag {_tag(tag)}: only plain YAML is read"))
            return None
        if node_type is not _SCALAR and depth > self.deepest:
            self.deepest = depth
        if node_type is _MAPPING:
            if self.flatten:
                try:
                    self.loader.flatten_mapping(node)  # type: ignore[arg-type]
                except yaml.YAMLError as exc:
                    doc.opaque.add(id(node))
                    mark = getattr(exc, "problem_mark", None) or node.start_mark
                    errors.append((Location(str(doc.path), mark.line + 1, mark.column + 1, json_path),
                                   f"invalid merge key: {getattr(exc, 'problem', None) or exc}"))
                    return None
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if type(key_node) is not _SCALAR or key_node.tag != _STR:
                    errors.append((_where(doc, key_node, json_path), _bad_key(key_node)))
                    continue
                key = key_node.value
                if key in result:
                    errors.append((_where(doc, key_node, json_path), f"duplicate key {key!r}"))
                    continue
                if type(value_node) is _SCALAR and value_node.tag == _STR:
                    result[key] = value_node.value
                else:
                    result[key] = self.value(value_node, (*json_path, key), depth + 1)
            return result
        if node_type is _SEQUENCE:
            return [item.value if type(item) is _SCALAR and item.tag == _STR
                    else self.value(item, (*json_path, index), depth + 1)
                    for index, item in enumerate(node.value)]
        try:
            value = self.loader.construct_object(node, deep=True)
            if tag == _FLOAT and isinstance(value, float) and value.is_integer():
                doc.whole_floats = True
            return value
        except (ValueError, OverflowError, TypeError, IndexError, KeyError, AttributeError, yaml.YAMLError) as exc:
            # e.g. a timestamp with month 13, an integer of more digits than Python converts. The
            # constructors also index and match the text they are given without checking it, so an
            # explicit tag on text too short or not of its form (!!int '', !!float _, !!int +, !!bool '',
            # !!timestamp '') raises IndexError, KeyError or AttributeError, whose text says nothing
            if isinstance(exc, (ValueError, OverflowError, TypeError, yaml.YAMLError)):
                problem = getattr(exc, "problem", None) or str(exc).split("\n")[0]
            else:
                problem = "its text is not one"
            if "integer string conversion" in problem:
                problem = "too many digits"
            errors.append((_where(doc, node, json_path), f"invalid {_SCALAR_KINDS.get(tag, 'value')}: {problem}"))
            return None


_SCALAR, _MAPPING, _SEQUENCE = yaml.ScalarNode, yaml.MappingNode, yaml.SequenceNode


def _where(doc: SourceDoc, node: yaml.Node, json_path: JsonPath) -> Location:
    return Location(str(doc.path), node.start_mark.line + 1, node.start_mark.column + 1, json_path)


def _bad_key(key_node: yaml.Node) -> str:
    """Why a mapping key is refused; quotes the key only when it is a short scalar (never a secret's value)."""
    if isinstance(key_node, yaml.MappingNode):
        return "mapping key is a mapping, not a string"
    if isinstance(key_node, yaml.SequenceNode):
        return "mapping key is a list, not a string"
    kind = _KEY_KINDS.get(key_node.tag, f"tagged {_tag(key_node.tag)}")
    text = str(key_node.value)
    if len(text) <= 40 and text.isprintable():
        return f"mapping key {text} is {kind}, not a string: quote it (\"{text}\": ...) if a name is meant"
    return f"mapping key is {kind}, not a string: quote it if a name is meant"


def _tag(tag: str) -> str:
    return repr(tag if len(tag) <= 60 else tag[:60] + "...")
