"""
The harness's own score of a trained model, in a process of its own (part of the fixed harness).

Usage:
    uv run evaluate.py MODEL.pt2     # MODEL.pt2: what train.py exported (prepare.export_model)

It never imports train.py or anything the agent can edit: the loop runs it from a copy of the run's
base commit (this file and prepare.py only). The model file is untrusted, so it is not loaded with
torch.export.load: load_model below reads the archive's raw tensors and its JSON graph, refuses
anything that could carry code or state, and runs the graph with the harness's own interpreter. It
computes the loss from the model's logits itself, bits per byte on the validation split exactly as
prepare.evaluate_bpb does, and checks causality: the logits at positions <= t must not change when
the tokens after t change (every t), nor when the other rows of the batch change. It prints a
summary, then one JSON line (`evaluation-json: {...}`) that the loop reads. Exit 0 when it could
score the model (a failed causality check included: the loop decides), 2 when the model is refused
or cannot be loaded or run.
"""

import json
import math
import operator
import os
import re
import sys
import time
import zipfile

import torch
from torch._export.serde import schema  # the format's enums (cheap to import, unlike serialize.py)

import prepare

BATCH_SIZE = {"cpu": 32, "cuda": 32}  # validation rows per forward pass, causality variants included
CAUSALITY_ROWS = 8                      # validation rows (picked at random) the causality check perturbs
# Largest change of a logit allowed where it must not change: float32 on cpu is bitwise stable; bf16
# kernels on cuda may pick other tilings for other contents. A model that peeks moves logits by O(1).
CAUSALITY_TOLERANCE = {"cpu": 1e-4, "cuda": 5e-2}

# ---------------------------------------------------------------------------
# Loading the exported model. The archive is written by the experiment, so it is untrusted:
# torch.export.load would unpickle weights, constants and example inputs marked for pickle, hand
# symbolic expressions to sympy (eval) and guard strings to exec. None of that is used here. The
# archive is read as a zip; its tensors as raw bytes; its graph (JSON) is validated node by node and
# run by the interpreter below, which calls only allow-listed torch ops with arguments it builds
# from typed JSON values. Anything else is refused before the graph runs.


class Refused(Exception):
    """The archive is not one the harness will run; the message says why."""


ROOT_FILES = re.compile(r"(archive_format|archive_version|byteorder|\.data/version|\.data/serialization_id"
                        r"|models/model\.json|data/weights/model_weights_config\.json|data/weights/weight_\d+"
                        r"|data/constants/model_constants_config\.json|data/constants/tensor_\d+"
                        r"|data/sample_inputs/model\.pt)")
OP_NAMESPACES = ("aten", "prims")
# Ops that reach outside the graph (files, stdout) or read uninitialised memory, which can hold
# what an earlier forward pass left there (a way to notice the causality probes).
DENIED_OPS = {"from_file", "_print", "save", "warn", "empty", "empty_like", "empty_strided", "empty_permuted",
              "new_empty", "new_empty_strided", "set"}
BUILTINS = {"_operator.getitem": operator.getitem, "_operator.add": operator.add, "_operator.sub": operator.sub,
            "_operator.mul": operator.mul, "_operator.floordiv": operator.floordiv, "_operator.mod": operator.mod,
            "_operator.neg": operator.neg, "_operator.truediv": operator.truediv, "_operator.eq": operator.eq,
            "_operator.ne": operator.ne, "_operator.lt": operator.lt, "_operator.le": operator.le,
            "_operator.gt": operator.gt, "_operator.ge": operator.ge, "torch.sym_max": max, "torch.sym_min": min}
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


DTYPES = {schema.ScalarType[name].value: dtype for name, dtype in {
    "BYTE": torch.uint8, "CHAR": torch.int8, "SHORT": torch.int16, "INT": torch.int32, "LONG": torch.int64,
    "HALF": torch.float16, "FLOAT": torch.float32, "DOUBLE": torch.float64, "BOOL": torch.bool,
    "BFLOAT16": torch.bfloat16}.items()}
LAYOUTS = {schema.Layout.Strided.value: torch.strided}
MEMORY_FORMATS = {schema.MemoryFormat[name].value: value for name, value in {
    "ContiguousFormat": torch.contiguous_format, "ChannelsLast": torch.channels_last,
    "ChannelsLast3d": torch.channels_last_3d, "PreserveFormat": torch.preserve_format}.items()}


def _check(condition, message):
    if not condition:
        raise Refused(message)


def _int(value, what):
    _check(type(value) is int, f"{what} is not an integer")
    return value


def _read_tensors(archive, root, folder, prefix, config_name):
    """{fqn: tensor} from a payload config whose every entry is a raw tensor (no pickle, no object)."""
    name = f"{root}/data/{folder}/{config_name}"
    if name not in archive.namelist():
        return {}
    config = json.loads(archive.read(name)).get("config")
    _check(isinstance(config, dict), f"{name} holds no config")
    storages, tensors = {}, {}
    for fqn, meta in config.items():
        _check(isinstance(meta, dict), f"{name}: {fqn} is malformed")
        path = meta.get("path_name")
        _check(meta.get("use_pickle") is False, f"{fqn} is stored as a pickle (the harness loads raw tensors only)")
        _check(isinstance(path, str) and re.fullmatch(prefix + r"\d+", path),
               f"{fqn} is stored as {path!r}, not as a raw tensor (an opaque or custom object?)")
        tmeta = meta.get("tensor_meta") or {}
        dtype = DTYPES.get(tmeta.get("dtype"))
        _check(dtype is not None, f"{fqn} has no tensor dtype")
        _check(LAYOUTS.get(tmeta.get("layout")) == torch.strided, f"{fqn} is not a dense tensor")
        sizes, strides = ([_int((v or {}).get("as_int"), f"a size of {fqn}") for v in tmeta.get(key) or []]
                          for key in ("sizes", "strides"))
        offset = _int((tmeta.get("storage_offset") or {}).get("as_int"), f"the offset of {fqn}")
        if path not in storages:
            raw = bytearray(archive.read(f"{root}/data/{folder}/{path}"))
            storages[path] = torch.frombuffer(raw, dtype=dtype) if raw else torch.zeros(0, dtype=dtype)
        _check(storages[path].dtype == dtype, f"{fqn} reads {path} as another dtype")
        tensors[fqn] = torch.as_strided(storages[path], sizes, strides, offset)  # bounds-checked against the bytes
    return tensors


def _resolve(target, where):
    """The callable a node's target names, if allowed: an op of an allowed namespace that mutates nothing."""
    if target in BUILTINS:
        return BUILTINS[target]
    parts = target.split(".") if isinstance(target, str) else []
    if len(parts) == 4 and parts[:3] == ["torch", "ops", "higher_order"] and parts[3] in HIGHER_ORDER:
        return HIGHER_ORDER[parts[3]]
    _check(len(parts) == 5 and parts[:2] == ["torch", "ops"] and parts[2] in OP_NAMESPACES
           and all(IDENTIFIER.fullmatch(p) for p in parts[3:]),
           f"{where} calls {target!r}, which is not an op of {'/'.join(OP_NAMESPACES)} (a custom op?)")
    _check(parts[3] not in DENIED_OPS, f"{where} calls {target}, which the harness does not run")
    try:
        op = getattr(getattr(getattr(torch.ops, parts[2]), parts[3]), parts[4])
    except (AttributeError, RuntimeError):
        raise Refused(f"{where} calls {target}, which this torch does not have") from None
    _check(isinstance(op, torch._ops.OpOverload), f"{where} calls {target}, which is no op")
    _check(not op._schema.is_mutable,
           f"{where} calls {target}, which writes to its input (a stateful graph could remember the causality probes)")
    return op


class Graph:
    """A validated graph: inputs, then nodes (callable, positional builders, keyword builders, outputs), outputs."""

    def __init__(self, graph, where):
        _check(isinstance(graph, dict) and isinstance(graph.get("nodes"), list), f"{where} is malformed")
        self.inputs = [self._name(a, where) for a in graph.get("inputs") or []]
        self.nodes = []
        for i, node in enumerate(graph["nodes"]):
            here = f"{where}, node {i}"
            _check(isinstance(node, dict), f"{here} is malformed")
            fn = _resolve(node.get("target"), here)
            args, kwargs = [], {}
            for item in node.get("inputs") or []:
                _check(isinstance(item, dict) and isinstance(item.get("arg"), dict), f"{here} has a malformed input")
                build = self._argument(item["arg"], here)
                if item.get("kind") == 2:
                    _check(isinstance(item.get("name"), str) and IDENTIFIER.fullmatch(item["name"]),
                           f"{here} has a malformed keyword")
                    kwargs[item["name"]] = build
                else:
                    _check(not kwargs and item.get("kind") == 1, f"{here} has a malformed input")
                    args.append(build)
            outputs = node.get("outputs") or []
            _check(isinstance(outputs, list), f"{here} has malformed outputs")
            self.nodes.append((fn, args, kwargs, [self._output(o, here) for o in outputs],
                               node.get("is_hop_single_tensor_return") is True))
        self.outputs = [self._argument(a, where) for a in graph.get("outputs") or []]

    @staticmethod
    def _name(arg, where):
        _check(isinstance(arg, dict) and len(arg) == 1, f"{where}: malformed argument")
        (kind, value), = arg.items()
        if kind == "as_tensor" or kind == "as_sym_int" and "as_name" in (value or {}):
            name = value.get("name") if kind == "as_tensor" else value.get("as_name")
            _check(isinstance(name, str), f"{where}: malformed name")
            return name
        raise Refused(f"{where}: an input of kind {kind} (only tensors and sizes are run)")

    def _output(self, out, where):
        """(takes a list, a function binding a node's result to the names of out)."""
        _check(isinstance(out, dict) and len(out) == 1, f"{where}: malformed output")
        (kind, value), = out.items()
        if kind == "as_tensors":
            names = [self._name({"as_tensor": v}, where) for v in value or []]
            return True, lambda env, result: env.update(zip(names, result, strict=True))
        if kind == "as_none":
            return False, lambda env, result: None
        name = self._name(out, where)
        return False, lambda env, result: env.__setitem__(name, result)

    def _argument(self, arg, where):
        """A function env -> the argument's value."""
        _check(isinstance(arg, dict) and len(arg) == 1, f"{where}: malformed argument")
        (kind, value), = arg.items()
        if kind == "as_tensor":
            name = self._name(arg, where)
            return lambda env: env[name]
        if kind in ("as_tensors", "as_optional_tensors"):
            items = [self._argument({"as_tensor": v} if "name" in (v or {}) else {"as_none": None}, where)
                     for v in value or []]
            return lambda env: [f(env) for f in items]
        if kind in ("as_sym_int", "as_sym_ints"):
            items = [self._sym_int(v, where) for v in (value if kind == "as_sym_ints" else [value]) or []]
            return (lambda env: [f(env) for f in items]) if kind == "as_sym_ints" else items[0]
        if kind == "as_graph":
            sub = Graph((value or {}).get("graph"), f"{where}, subgraph")
            return lambda env: sub
        if kind == "as_none":
            return lambda env: None
        constant = self._constant(kind, value, where)
        return lambda env: constant

    @staticmethod
    def _sym_int(value, where):
        _check(isinstance(value, dict) and len(value) == 1, f"{where}: malformed size")
        if "as_int" in value:
            number = _int(value["as_int"], f"{where}: a size")
            return lambda env: number
        _check(isinstance(value.get("as_name"), str), f"{where}: a symbolic size expression (not run)")
        name = value["as_name"]
        return lambda env: env[name]

    @staticmethod
    def _constant(kind, value, where):
        scalars = {"as_int": int, "as_float": float, "as_bool": bool, "as_string": str}
        lists = {"as_ints": int, "as_floats": float, "as_bools": bool, "as_strings": str}
        if kind in scalars:
            _check(type(value) is scalars[kind] or kind == "as_float" and type(value) is int, f"{where}: bad {kind}")
            return value
        if kind in lists:
            _check(isinstance(value, list) and all(type(v) is lists[kind] or kind == "as_floats" and type(v) is int
                                                   for v in value), f"{where}: bad {kind}")
            return list(value)
        table = {"as_scalar_type": DTYPES, "as_layout": LAYOUTS, "as_memory_format": MEMORY_FORMATS}.get(kind)
        if table is not None:
            _check(value in table, f"{where}: unknown {kind} {value!r}")
            return table[value]
        if kind == "as_device":
            _check(isinstance(value, dict) and value.get("type") in ("cpu", "cuda")
                   and (value.get("index") is None or type(value.get("index")) is int), f"{where}: bad device")
            return torch.device(value["type"], value.get("index"))
        raise Refused(f"{where}: an argument of kind {kind}, which the harness does not run")

    def run(self, values):
        env = dict(zip(self.inputs, values, strict=True))
        for fn, args, kwargs, outputs, single in self.nodes:
            result = fn(*[f(env) for f in args], **{k: f(env) for k, f in kwargs.items()})
            if not outputs:  # e.g. an assertion
                continue
            if len(outputs) == 1 and (single or outputs[0][0] or not isinstance(result, tuple)):
                outputs[0][1](env, result)
            else:  # a tuple, one output each
                for (_, bind), value in zip(outputs, result, strict=True):
                    bind(env, value)
        return [f(env) for f in self.outputs]


def _run_with_autocast(device_type, dtype, enabled, cache_enabled, graph, *operands):
    _check(device_type in ("cpu", "cuda") and isinstance(graph, Graph), "wrap_with_autocast is malformed")
    with torch.autocast(device_type, dtype=dtype, enabled=bool(enabled), cache_enabled=cache_enabled):
        return tuple(graph.run(operands))


def _run_with_grad_enabled(enabled, graph, *operands):
    _check(isinstance(graph, Graph), "wrap_with_set_grad_enabled is malformed")
    return tuple(graph.run(operands))  # scoring needs no gradients either way


# The higher-order ops a normal export of train.py holds (autocast and no_grad regions), run by the
# harness itself. torch 2.15 cannot save a flex_attention graph at all, so it is not among them.
HIGHER_ORDER = {"wrap_with_autocast": _run_with_autocast, "wrap_with_set_grad_enabled": _run_with_grad_enabled}


def load_model(path, device):
    """The exported model as a callable idx (B, T) -> logits, or Refused saying why it is not run."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise Refused(f"not an exported model archive: {err}") from None
    with archive:
        names = archive.namelist()
        roots = {name.split("/", 1)[0] for name in names}
        _check(len(roots) == 1 and all("/" in name for name in names), "not an archive torch.export.save wrote")
        root = roots.pop()
        for name in names:
            _check(ROOT_FILES.fullmatch(name[len(root) + 1:]), f"the archive holds {name[len(root) + 1:]}, which "
                   "the harness does not load (only a torch.export graph with raw tensors is run)")
        sample = f"{root}/data/sample_inputs/model.pt"
        _check(sample not in names or archive.getinfo(sample).file_size == 0,
               "the archive holds example inputs, a pickle (prepare.export_model saves none)")
        byteorder = f"{root}/byteorder"
        _check(byteorder not in names or archive.read(byteorder).decode(errors="replace") == sys.byteorder,
               "the archive's tensors are of another byte order")
        try:
            program = json.loads(archive.read(f"{root}/models/model.json"))
        except (KeyError, ValueError) as err:
            raise Refused(f"the archive holds no readable graph: {err}") from None
        weights = _read_tensors(archive, root, "weights", "weight_", "model_weights_config.json")
        constants = _read_tensors(archive, root, "constants", "tensor_", "model_constants_config.json")
    module = program.get("graph_module") if isinstance(program, dict) else None
    signature = module.get("signature") if isinstance(module, dict) else None
    _check(isinstance(signature, dict), "the graph has no signature")
    values, user = {}, []
    for spec in signature.get("input_specs") or []:
        _check(isinstance(spec, dict) and len(spec) == 1, "the graph's inputs are malformed")
        (kind, body), = spec.items()
        arg = (body or {}).get("arg") if isinstance(body, dict) else None
        name = Graph._name(arg if kind == "user_input" else {"as_tensor": arg}, "an input")
        if kind == "user_input":
            user.append(name)
            continue
        key = {"parameter": "parameter_name", "buffer": "buffer_name", "tensor_constant": "tensor_constant_name"}.get(kind)
        _check(key is not None, f"the graph takes a {kind} input (only the tokens, parameters, buffers and tensor "
               "constants are allowed; no custom or opaque objects)")
        fqn = body.get(key)
        tensor = weights.get(fqn) if kind == "parameter" else weights.get(fqn, constants.get(fqn))
        _check(tensor is not None, f"the graph's {kind} {fqn!r} is not in the archive")
        values[name] = tensor.to(device)
    _check(len(user) == 1, f"the graph takes {len(user)} inputs, not the tokens alone")
    outputs = signature.get("output_specs") or []
    for spec in outputs:
        kind = next(iter(spec)) if isinstance(spec, dict) and len(spec) == 1 else spec
        _check(kind == "user_output", f"the graph has a {kind} output: it mutates a buffer or an input (a stateful "
               "graph could remember the causality probes)")
    _check(len(outputs) == 1, f"the graph returns {len(outputs)} values, not the logits alone")
    graph = Graph(module.get("graph"), "the graph")
    _check(sorted(graph.inputs) == sorted([*values, *user]), "the graph's inputs do not match its signature")
    return ExportedModel(graph, [values.get(name) for name in graph.inputs], graph.inputs.index(user[0]))


class ExportedModel:
    def __init__(self, graph, values, user_index):
        self.graph, self.values, self.user_index = graph, values, user_index

    def __call__(self, idx):
        values = list(self.values)
        values[self.user_index] = idx.clone()  # x and y are views of one batch: the graph sees a copy
        logits, = self.graph.run(values)
        _check(isinstance(logits, torch.Tensor), "the graph returns no tensor")
        return logits

# ---------------------------------------------------------------------------
# Scoring and causality


class Recorder:
    """The model as prepare.evaluate_bpb calls it, keeping the logits it returned for the rows in keep
    (row index in val_rows -> logits): the causality check compares against the very logits scored."""

    def __init__(self, model, keep):
        self.model, self.keep, self.kept, self.seen = model, set(keep), {}, 0

    def __call__(self, x):
        logits = self.model(x)
        for i in range(x.size(0)):
            if self.seen + i in self.keep:
                self.kept[self.seen + i] = logits[i].detach().float().clone()
        self.seen += x.size(0)
        return logits


@torch.no_grad()
def causality_problem(model, rows, base, vocab_size, batch_size, tolerance, generator):
    """(None, largest change, positions checked) when the model is causal on rows (R, T) within tolerance,
    else (a sentence saying where it is not, largest change, positions checked). base: the logits (R, T, V)
    the model gave each row when scored. Every position t in 0..T-2 is checked on a row picked at random:
    the tokens after t are replaced by random ones (the one at t + 1 always differs), several such
    variants per forward pass, and the logits up to t must not move. Then one row, among random rows at a
    random place of its batch, must keep its logits (rows are consecutive text: another row is the future)."""
    device = rows.device
    R, T = rows.shape
    rand = lambda *shape, low=0: torch.randint(low, vocab_size, shape, generator=generator).to(device)
    positions = torch.randperm(T - 1, generator=generator)
    which = (torch.arange(T - 1) + torch.randint(0, R, (1,), generator=generator)) % R  # each row gets positions
    pairs = torch.stack([which[torch.randperm(T - 1, generator=generator)], positions], 1)
    extra = -len(pairs) % batch_size  # full batches (the shapes scoring used), padded with random pairs
    pairs = torch.cat([pairs, torch.stack([torch.randint(0, R, (extra,), generator=generator),
                                           torch.randint(0, T - 1, (extra,), generator=generator)], 1)])
    worst = (0.0, None)
    steps = torch.arange(T, device=device)
    for chunk in pairs.to(device).split(batch_size):
        r, t = chunk[:, 0], chunk[:, 1]
        variants = rows[r].clone()
        after = steps[None, :] > t[:, None]
        variants = torch.where(after, rand(len(chunk), T), variants)
        nxt = (t + 1).unsqueeze(1)  # the token at t + 1 surely changes
        variants.scatter_(1, nxt, (rows[r].gather(1, nxt) + rand(len(chunk), 1, low=1)) % vocab_size)
        logits = model(variants).float()
        if logits.shape != variants.shape + (vocab_size,):
            return f"logits have shape {tuple(logits.shape)}, expected {(*variants.shape, vocab_size)}", math.inf, 0
        change = (logits - base[r]).abs().amax(-1).masked_fill(after, 0).nan_to_num(math.inf).amax(-1)
        i = int(change.argmax())
        delta, at = change[i].item(), int(t[i])
        if not delta <= worst[0]:
            worst = (delta, f"the logits up to position {at} changed by {delta:.3g} when the tokens after {at} changed")
    if batch_size > 1:
        r = int(torch.randint(0, R, (1,), generator=generator))
        place = int(torch.randint(0, batch_size, (1,), generator=generator))
        others = rand(batch_size, T)
        others[place] = rows[r]
        delta = (model(others).float()[place] - base[r]).abs().max().nan_to_num(math.inf).item()
        if not delta <= worst[0]:
            worst = (delta, f"the logits of a row changed by {delta:.3g} when the other rows of its batch changed")
    return (worst[1] if not worst[0] <= tolerance else None), worst[0], T - 1


def evaluate(model_path):
    start = time.time()
    device = torch.device(prepare.device_type())
    data = prepare.load_data(device.type)
    if prepare.validation_hidden(data):
        raise SystemExit("evaluate: the validation split is empty here (hidden?): cannot score")
    model = load_model(model_path, device)
    load_seconds = time.time() - start
    rows = torch.from_numpy(prepare.val_rows(data))
    generator = torch.Generator().manual_seed(int.from_bytes(os.urandom(8), "little"))
    chosen = torch.randperm(len(rows), generator=generator)[:CAUSALITY_ROWS].tolist()
    recorder = Recorder(model, chosen)
    with torch.no_grad():
        val_bpb = prepare.evaluate_bpb(recorder, data, BATCH_SIZE[device.type], device)
    base = torch.stack([recorder.kept[i] for i in chosen])
    problem, max_change, checked = causality_problem(
        model, rows[chosen, :-1].to(device), base, data.settings.vocab_size, BATCH_SIZE[device.type],
        CAUSALITY_TOLERANCE[device.type], generator)
    if problem is not None:
        val_bpb = float("nan")
    return {
        "val_bpb": val_bpb if math.isfinite(val_bpb) else None,
        "causal": problem is None,
        "causality_problem": problem,
        "causality_max_change": max_change if math.isfinite(max_change) else None,
        "causality_tolerance": CAUSALITY_TOLERANCE[device.type],
        "positions_checked": checked,
        "tokens_evaluated": int(rows[:, 1:].numel()),
        "load_seconds": round(load_seconds, 2),
        "eval_seconds": round(time.time() - start, 2),
        "device": device.type,
    }


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: evaluate.py MODEL.pt2")
    try:
        result = evaluate(sys.argv[1])
    except SystemExit:
        raise
    except Exception as err:  # a refused, unloadable or failing graph: the loop names it in the row
        message = str(err).strip().splitlines()[0] if str(err).strip() else ""
        prefix = "refused: " if isinstance(err, Refused) else f"{type(err).__name__}: "
        result = {"error": (prefix + message)[:500]}
        print(f"evaluate: {result['error']}", flush=True)
        print("evaluation-json: " + json.dumps(result), flush=True)
        sys.exit(2)
    print("---")
    for key in ("val_bpb", "causal", "tokens_evaluated", "eval_seconds"):
        print(f"{key + ':':<18}{result[key]}")
    if result["causality_problem"]:
        print(f"causality:        {result['causality_problem']}")
    print("evaluation-json: " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
