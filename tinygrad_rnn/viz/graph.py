"""The recorded graph, made visible: a loop over time steps *is* the unrolled graph.

Every op that runs on a tensor requiring grad records a node (its ``grad_fn``) with edges to the nodes
of its inputs (``parents``): the input's own op, or the input tensor itself when it is a leaf. Run a
tanh RNN step T times and the graph holds T copies of the step's ops but only one node per weight:
W_hh is one leaf with T edges, one into each step, and backward sends one gradient back along each
edge and sums them into W_hh.grad.

``graph_of`` reads that structure into a small plain ``Graph`` (no engine objects in it);
``to_dot`` writes it as Graphviz DOT text (ops as boxes, leaves as ellipses, named parameters with their
names, a leaf used more than once in a colour of its own, with every edge from it in that colour);
``draw_graph`` draws the same picture as a PNG with matplotlib alone, in a layered layout computed here.
Inputs that do not require grad (the data x_t, a zero start state) are not in the graph: the engine
records no edge to them, as torch's (and torchviz's pictures) leave them out too.
"""
from __future__ import annotations

import os
import textwrap
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

from ..nn.module import Parameter
from ..serialization import atomic_write
from ..tensor import Tensor, _OutputNode

# colours of the leaves used more than once, in turn (matplotlib's tab10 without its grey and blue)
SHARED_COLOURS = ("#ff7f0e", "#d62728", "#9467bd", "#2ca02c", "#e377c2", "#8c564b", "#17becf", "#bcbd22")
_OP, _LEAF, _PARAM, _ROOT = "#e8e8e8", "#ffffff", "#cfe2f3", "#c5e8a5"  # fill colours


class GraphNode(NamedTuple):
    """One node of the recorded graph. kind: 'op' (a recorded Function), 'leaf' (a tensor that requires grad
    and was not computed by an op) or 'param' (a leaf named in ``params``, or an ``nn.Parameter``). name: the
    op's name ('tanh', 'matmul'), the parameter's name, or '' (an unnamed leaf). shape: the output's shape (an
    op with several outputs: a tuple of the shapes of those the graph uses; None once a backward without
    retain_graph has released the op, which then forgets it). label: what the pictures show."""

    kind: str
    name: str
    shape: Any
    label: str


@dataclass
class Graph:
    """The graph reachable from some tensors. nodes[i] is node i; edges are (input, consumer) pairs of node
    indices, one per use, so ``x * x`` has two edges from x, and backward sends one gradient along each edge,
    summed where they meet; roots are the nodes of the tensors the graph was taken from."""

    nodes: List[GraphNode] = field(default_factory=list)
    edges: List[Tuple[int, int]] = field(default_factory=list)
    roots: List[int] = field(default_factory=list)

    def consumers(self, i: int) -> List[int]:
        """The nodes that use node i, one entry per edge (in recording order of the walk)."""
        return [c for p, c in self.edges if p == i]

    def inputs(self, i: int) -> List[int]:
        """The nodes node i reads, one entry per edge."""
        return [p for p, c in self.edges if c == i]

    def find(self, name: str) -> List[int]:
        """The indices of the nodes with this name (an op's name, or a parameter's)."""
        return [i for i, n in enumerate(self.nodes) if n.name == name]

    def shared(self) -> List[int]:
        """The leaves and parameters with more than one edge out: the tensors whose gradient is a sum over uses
        (a weight used at every time step)."""
        out = [0] * len(self.nodes)
        for p, _ in self.edges:
            out[p] += 1
        return [i for i, n in enumerate(self.nodes) if n.kind != "op" and out[i] > 1]


def _shape_text(shape: Any) -> str:
    return str(tuple(int(d) for d in shape))


def _roots_and_names(fn: str, roots: Sequence[Any], params: Optional[Mapping[str, Any]]) -> Dict[int, str]:
    """Check the arguments; the parameters' names by id of the tensor (several names of one tensor joined)."""
    if not roots:
        raise TypeError(f"{fn}: give at least one tensor (e.g. the loss, or the last hidden state)")
    for k, r in enumerate(roots):
        if not isinstance(r, Tensor):
            raise TypeError(f"{fn}: argument {k} must be a Tensor, got {type(r).__name__}")
        if not r.requires_grad:
            raise ValueError(f"{fn}: argument {k} (shape {tuple(r.shape)}) does not require grad, so no graph was "
                             "recorded for it (computed under no_grad(), or only from tensors that do not require "
                             "grad?)")
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise TypeError(f"{fn}: params must be a dict name -> Tensor (e.g. dict(model.named_parameters())), got "
                        f"{type(params).__name__}")
    names: Dict[int, str] = {}
    for name, t in params.items():
        if not isinstance(t, Tensor):
            raise TypeError(f"{fn}: params[{name!r}] must be a Tensor, got {type(t).__name__}")
        names[id(t)] = names[id(t)] + ", " + str(name) if id(t) in names else str(name)
    return names


def graph_of(*roots: Tensor, params: Optional[Mapping[str, Tensor]] = None) -> Graph:
    """The graph recorded behind ``roots`` (tensors that require grad), as a plain ``Graph``.

    params: an optional dict name -> Tensor (``dict(model.named_parameters())``) naming leaves; a leaf in it, or
    an ``nn.Parameter``, is a 'param' node. The walk is iterative (breadth-first from the roots, an explicit
    queue, no recursion), so a 10,000-step unrolled graph is read like a 3-op one. An op with several outputs
    (a fused LSTM step gives h and c) is one node: its outputs' own nodes (``_OutputNode``) are folded into it.
    """
    return _walk("graph_of", roots, params)


def _walk(fn_name: str, roots: Sequence[Any], params: Optional[Mapping[str, Tensor]]) -> Graph:
    """graph_of's walk; argument errors name ``fn_name``."""
    names = _roots_and_names(fn_name, roots, params)
    index: Dict[int, int] = {}
    objects: List[Any] = []  # (keeps each walked object alive while its id is a key)
    out_shapes: Dict[int, Dict[int, Any]] = {}  # op index -> {output index: shape}, for ops with several outputs
    edges: List[Tuple[int, int]] = []
    queue: deque = deque()

    def visit(obj: Any) -> int:
        """obj's node index (a new node is queued); an output node stands for its Function."""
        fn = obj.fn if type(obj) is _OutputNode else obj
        i = index.get(id(fn))
        if i is None:
            i = index[id(fn)] = len(objects)
            objects.append(fn)
            queue.append(fn)
        if fn is not obj:
            out_shapes.setdefault(i, {})[obj.index] = obj.out_shape
        return i

    root_ids = []
    for r in roots:
        i = visit(r.grad_fn if r.grad_fn is not None else r)
        if i not in root_ids:
            root_ids.append(i)
    while queue:
        node = queue.popleft()
        if isinstance(node, Tensor):
            continue
        here = index[id(node)]
        for p in node.parents:  # (a released node keeps its edges)
            if p is not None:
                edges.append((visit(p), here))

    nodes = []
    for i, obj in enumerate(objects):
        if isinstance(obj, Tensor):
            name = names.get(id(obj), "")
            kind = "param" if name or isinstance(obj, Parameter) else "leaf"
            shape = tuple(obj.shape)
            head = name or ("Parameter" if kind == "param" else "")
            label = (head + "\n" if head else "") + _shape_text(shape)
        else:
            name, kind = obj.name, "op"
            if i in out_shapes:
                shape = tuple(out_shapes[i][k] for k in sorted(out_shapes[i]))
                label = name + "\n" + " ".join(_shape_text(s) for s in shape)
            else:
                shape = getattr(obj, "out_shape", None)
                label = name if shape is None else name + "\n" + _shape_text(shape)
        nodes.append(GraphNode(kind, name, shape, label))
    return Graph(nodes, edges, root_ids)


def _as_graph(fn: str, roots: Sequence[Any], params: Optional[Mapping[str, Tensor]]) -> Graph:
    """One Graph given as the only argument, or the graph of the tensors given."""
    if len(roots) == 1 and isinstance(roots[0], Graph):
        if params is not None:
            raise TypeError(f"{fn}: params names the leaves of tensors; pass it to graph_of, not with a Graph")
        return roots[0]
    return _walk(fn, roots, params)


def _colours(g: Graph) -> Dict[int, str]:
    """A colour for each shared leaf, in node order."""
    return {i: SHARED_COLOURS[k % len(SHARED_COLOURS)] for k, i in enumerate(g.shared())}


def _dot_text(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(*roots: Union[Tensor, Graph], params: Optional[Mapping[str, Tensor]] = None) -> str:
    """The graph behind ``roots`` as Graphviz DOT text (render it with ``dot -Tpng``), torchviz-like: ops as grey
    boxes (name and output shape), leaves as ellipses, named parameters blue with their names, the roots green, and
    each leaf used more than once in a colour of its own, drawn once with an edge in that colour to every op that
    uses it. Edges run from an input to the op that reads it, left to right. ``roots`` may instead be one Graph
    from ``graph_of``. One line per node (``n3 [...]``) and per edge (``n3 -> n1 [...]``)."""
    g = _as_graph("to_dot", roots, params)
    colours = _colours(g)
    roots_set = set(g.roots)
    lines = ["digraph tinygrad_rnn {", "    graph [rankdir=LR];",
             '    node [fontname="Helvetica", fontsize=10, style=filled];']
    for i, n in enumerate(g.nodes):
        if n.kind == "op":
            attrs = f"shape=box, fillcolor={_dot_text(_ROOT if i in roots_set else _OP)}"
        else:
            fill = _tint(colours[i]) if i in colours else _PARAM if n.kind == "param" else _LEAF
            attrs = f"shape=ellipse, fillcolor={_dot_text(fill)}"
            if i in colours:
                attrs += f", color={_dot_text(colours[i])}, penwidth=2"
        lines.append(f"    n{i} [label={_dot_text(n.label)}, {attrs}];")
    for p, c in g.edges:
        lines.append(f"    n{p} -> n{c}" + (f" [color={_dot_text(colours[p])}, penwidth=1.5];" if p in colours
                                             else ";"))
    lines.append("}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the layered layout
Point = Tuple[float, float]


def _layout(g: Graph, sweeps: int = 4) -> Tuple[Dict[int, Point], List[int], Dict[int, List[Point]]]:
    """Positions (column, row) of the nodes; the shared leaves, which sit in a band above the rest; and for each
    edge that spans several columns, the points it bends through.

    Each other node's column is set by its longest path to a root (a root in the last column, each input at
    least one column before its consumers): an op is placed just before the ops that use it, so W_hh.T at step t
    sits beside step t (layering from the leaves instead would stack every step's W_hh.T in the first column).
    An edge across several columns goes through a placeholder in each column between (Sugiyama's dummy nodes),
    so that it takes a slot of its own instead of running through the boxes there. Within a column the nodes are
    ordered by the mean row of their consumers, then of their inputs (barycentre sweeps, which untangle crossings;
    a shared leaf counts as a row above all the others), then neighbours are swapped where that crosses fewer
    edges, and the column is centred on row 0. A shared leaf goes in a band above, at the mean column of the ops
    that use it, so its edges fan out to every step. Iterative throughout."""
    n = len(g.nodes)
    banded = set(g.shared())
    ins: List[List[int]] = [[] for _ in range(n)]
    outs: List[List[int]] = [[] for _ in range(n)]
    for p, c in g.edges:
        ins[c].append(p)
        outs[p].append(c)
    depth = [0] * n  # longest path to a root, in edges (Kahn's order from the nodes nothing uses)
    waiting = [len(set(o)) for o in outs]
    ready = [i for i in range(n) if waiting[i] == 0]
    while ready:
        i = ready.pop()
        for p in set(ins[i]):
            depth[p] = max(depth[p], depth[i] + 1)
            waiting[p] -= 1
            if waiting[p] == 0:
                ready.append(p)
    last = max((depth[i] for i in range(n) if i not in banded), default=0)
    col = {i: last - depth[i] for i in range(n) if i not in banded}
    columns: List[List[int]] = [[] for _ in range(last + 1)]
    for i in col:
        columns[col[i]].append(i)
    near_in: Dict[int, List[int]] = {i: [p for p in ins[i]] for i in col}  # (band nodes included: see the sort)
    near_out: Dict[int, List[int]] = {i: [] for i in col}
    bends: Dict[int, List[int]] = {}
    next_id = n
    for e, (p, c) in enumerate(g.edges):
        if p in banded:
            continue
        prev = p
        for k in range(col[p] + 1, col[c]):
            columns[k].append(next_id)
            near_in[next_id], near_out[next_id] = [prev], []
            near_out[prev].append(next_id)
            bends.setdefault(e, []).append(next_id)
            prev, next_id = next_id, next_id + 1
        if prev != p:
            near_in[c][near_in[c].index(p)] = prev
        near_out[prev].append(c)
    above = max((len(c) for c in columns), default=0) / 2 + 1.0
    row: Dict[int, float] = dict.fromkeys(banded, above)

    def place(nodes: List[int]) -> None:
        for k, i in enumerate(nodes):
            row[i] = k - (len(nodes) - 1) / 2

    for nodes in columns:
        place(nodes)
    for _ in range(sweeps):
        for order, near in ((columns[::-1], near_out), (columns, near_in)):
            for nodes in order:
                keys = {}
                for i in nodes:
                    seen = [row[j] for j in near[i]]
                    keys[i] = sum(seen) / len(seen) if seen else row[i]
                nodes.sort(key=keys.__getitem__)
                place(nodes)

    def crossings(u: int, v: int) -> int:
        """How many edges of u cross edges of v with u just below v in their column (the band's left out)."""
        return sum([row[a] > row[b] for near in (near_in, near_out) for a in near[u] for b in near[v]
                    if a not in banded and b not in banded])

    for _ in range(sweeps):  # then swap neighbours in a column wherever that crosses fewer edges
        swapped = False
        for nodes in columns:
            for k in range(len(nodes) - 1):
                u, v = nodes[k], nodes[k + 1]
                if crossings(v, u) < crossings(u, v):
                    nodes[k], nodes[k + 1], swapped = v, u, True
                    place(nodes)
        if not swapped:
            break
    pos = {i: (float(col[i]), row[i]) for i in col}
    top = max((r for _, r in pos.values()), default=0.0) + max(1.6, 0.1 * last)  # (wide: steeper edges)
    want = {i: sum(pos[c][0] for c in outs[i]) / len(outs[i]) for i in banded}
    band = sorted(banded, key=lambda i: (want[i], i))
    xs: List[float] = []
    for i in band:  # at the wanted columns, at least 1.6 apart, then the band centred where it wanted to be
        xs.append(want[i] if not xs else max(want[i], xs[-1] + 1.6))
    shift = (sum(want.values()) - sum(xs)) / len(xs) if xs else 0.0
    for i, x in zip(band, xs):
        pos[i] = (x + shift, top)
    routes = {e: [(float(col[g.edges[e][0]] + k + 1), row[d]) for k, d in enumerate(ds)] for e, ds in bends.items()}
    return pos, band, routes


def _tint(colour: str, white: float = 0.6) -> str:
    """A hex colour mixed with ``white`` parts of white (a fill that black text reads on)."""
    rgb = [int(colour[k:k + 2], 16) for k in (1, 3, 5)]
    return "#" + "".join(f"{round(v + (255 - v) * white):02x}" for v in rgb)


def _summary(g: Graph, band: List[int]) -> str:
    """The default title: what the graph holds, and the leaves used more than once."""
    def count(k: int, one: str, many: str) -> str:
        return f"{k} {one if k == 1 else many}"

    ops = sum([n.kind == "op" for n in g.nodes])
    params = sum([n.kind == "param" for n in g.nodes])
    parts = [count(ops, "op", "ops"), count(params, "parameter", "parameters") if params else "",
             count(len(g.nodes) - ops - params, "other leaf", "other leaves") if params else
             count(len(g.nodes) - ops, "leaf", "leaves"), count(len(g.edges), "edge", "edges")]
    text = ", ".join([p for p in parts if p and not p.startswith("0 other")])
    if band:
        text += "; used more than once: " + ", ".join(
            [f"{g.nodes[i].label.splitlines()[0]} ({len(g.consumers(i))} edges)" for i in band])
    return text


def _boundary(centre: Tuple[float, float], size: Tuple[float, float], ellipse: bool,
              towards: Tuple[float, float]) -> Tuple[float, float]:
    """Where the segment from a node's centre towards a point leaves its box or ellipse (half-sizes ``size``)."""
    dx, dy = towards[0] - centre[0], towards[1] - centre[1]
    if dx == 0 and dy == 0:
        return centre
    w, h = size
    if ellipse:
        s = 1.0 / ((dx / w) ** 2 + (dy / h) ** 2) ** 0.5
    else:
        s = min(w / abs(dx) if dx else float("inf"), h / abs(dy) if dy else float("inf"))
    return centre[0] + s * dx, centre[1] + s * dy


def draw_graph(*roots: Union[Tensor, Graph], path: Any, params: Optional[Mapping[str, Tensor]] = None,
               max_nodes: int = 150, title: Optional[str] = None, dpi: int = 100) -> str:
    """Draw the graph behind ``roots`` as a PNG at path (matplotlib alone, no Graphviz); returns path.

    The picture of ``to_dot``, laid out here (see ``_layout``): data flows left to right into the roots (green);
    ops are grey boxes (name, output shape), leaves ellipses, named parameters blue. A leaf used more than once (a
    weight shared by every time step) is drawn once, above the rest, in a colour of its own with an edge in that
    colour to every op that uses it: backward sends a gradient back along each of those edges and sums them.
    ``roots`` may instead be one Graph from ``graph_of``. A graph of more than ``max_nodes`` nodes is refused
    (unreadable as a picture; use ``to_dot`` and Graphviz, or fewer steps). The file is written atomically (a
    temporary file, then os.replace). Needs matplotlib (Agg; the global pyplot backend is not touched).
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import Ellipse, FancyArrowPatch, FancyBboxPatch
        from matplotlib.path import Path
    except ImportError:
        raise ImportError("draw_graph: needs matplotlib; install it with pip install -e \".[examples]\"") from None
    g = _as_graph("draw_graph", roots, params)
    if len(g.nodes) > max_nodes:
        raise ValueError(f"draw_graph: the graph has {len(g.nodes)} nodes, more than max_nodes={max_nodes}: a "
                         "picture of that many is unreadable; draw fewer steps, raise max_nodes, or render "
                         "to_dot(...) with Graphviz")
    pos, band, routes = _layout(g)
    colours = _colours(g)
    roots_set = set(g.roots)
    fontsize = 8
    char_in, line_in = 0.6 * fontsize / 72, 1.25 * fontsize / 72  # a character's width, a line's height (inches)
    widest = max((max(len(s) for s in n.label.split("\n")) for n in g.nodes), default=1)
    unit_x = max(1.0, widest * char_in + 0.35)  # inches per column, per row
    unit_y = 0.62
    xs = [x for x, _ in pos.values()]
    ys = [y for _, y in pos.values()]
    x0, x1 = min(xs) - 0.8, max(xs) + 0.8
    y0, y1 = min(ys) - 0.9, max(ys) + 0.9
    width, height = (x1 - x0) * unit_x, (y1 - y0) * unit_y
    if title is None:
        title = _summary(g, band)
    title = textwrap.fill(title, max(30, int(width / (0.6 * (fontsize + 1) / 72))))
    head = 0.3 + (title.count("\n") + 1) * 1.3 * (fontsize + 1) / 72  # inches above the graph for the title
    fig = Figure(figsize=(width, height + head))
    FigureCanvasAgg(fig)
    fig.text(0.5, 1 - 0.12 / (height + head), title, ha="center", va="top", fontsize=fontsize + 1)
    ax = fig.add_axes((0.0, 0.0, 1.0, height / (height + head)))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_axis_off()

    half = {}
    for i, n in enumerate(g.nodes):
        lines = n.label.split("\n")
        w = (max(len(s) for s in lines) * char_in + 0.16) / 2 / unit_x
        h = (len(lines) * line_in + 0.1) / 2 / unit_y
        half[i] = (w * 1.25, h * 1.35) if n.kind != "op" else (w, h)  # (an ellipse needs room for its text)
    seen: Dict[Tuple[int, int], int] = {}
    for e, (p, c) in enumerate(g.edges):
        bend = routes.get(e, [])
        a = _boundary(pos[p], half[p], g.nodes[p].kind != "op", bend[0] if bend else pos[c])
        b = _boundary(pos[c], half[c], g.nodes[c].kind != "op", bend[-1] if bend else pos[p])
        style = dict(arrowstyle="-|>", mutation_scale=9, shrinkA=0, shrinkB=1, color=colours.get(p, "#555555"),
                     linewidth=1.4 if p in colours else 0.9, alpha=0.8 if p in colours else 1.0,
                     zorder=2.5 if p in colours else 1)  # (a shared leaf's edges pass over boxes, under the text)
        if bend:
            points = [a, *bend, b]
            ax.add_patch(FancyArrowPatch(path=Path(points, [Path.MOVETO] + [Path.LINETO] * (len(points) - 1)),
                                         **style))
        else:
            k = seen[(p, c)] = seen.get((p, c), -1) + 1  # (repeated edges, as x * x, bow apart)
            ax.add_patch(FancyArrowPatch(a, b, connectionstyle=f"arc3,rad={0.25 * k}", **style))
    for i, n in enumerate(g.nodes):
        (x, y), (w, h) = pos[i], half[i]
        if n.kind == "op":
            fill = _ROOT if i in roots_set else _OP
            ax.add_patch(FancyBboxPatch((x - w, y - h), 2 * w, 2 * h, boxstyle="square,pad=0", facecolor=fill,
                                        edgecolor="#333333", linewidth=0.8, zorder=2))
        else:
            fill = _tint(colours[i]) if i in colours else _PARAM if n.kind == "param" else _LEAF
            ax.add_patch(Ellipse((x, y), 2 * w, 2 * h, facecolor=fill, edgecolor=colours.get(i, "#333333"),
                                 linewidth=2.0 if i in colours else 0.8, zorder=2))
        ax.text(x, y, n.label, ha="center", va="center", fontsize=fontsize, zorder=3,
                fontweight="bold" if i in colours else "normal")
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=dpi), "draw_graph")
    return os.fspath(path)
