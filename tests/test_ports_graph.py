"""Graph neural networks and structured models, ported: each written once, as its authors write it, against a
module ``T`` (torch or tinygrad_rnn), run by both from the same initial weights (torch's, loaded into ours) and
data for a few steps in float64; losses, node / graph outputs, the gradient of every parameter and final weights
agree to ~1e-10. Random draws (dropout masks, Gumbel noise) are made outside, in numpy. Skipped without torch.

Programs: Kipf's pygcn (GraphConvolution with torch.spmm on a row-normalised sparse adjacency built as a COO in
numpy, Adam with weight_decay, nll_loss on a train index) and pyGAT's sparse attention layer (a custom
autograd.Function around a sparse @ dense product, torch.sparse.sum degrees); GraphSAGE (mean aggregation with
index_add_ and scatter_reduce) and GIN (learnable eps, BatchNorm MLPs, sum pooling per graph with index_add);
the gated graph neural network of Li et al. twice (ggnn.pytorch's dense bmm propagator with AttrProxy edge-type
linears, and the index_add / GRUCell form with a soft-attention graph readout); Gilmer's MPNN (NNConv edge
network with per-edge weight matrices, a GRU update, Set2Set readout with a scatter softmax made of index ops);
a Relation Network over object pairs and a Graph Network block (edge / node / global updates); NRI's MLP encoder
with its pre-F.gumbel_softmax straight-through sampler (numpy noise), and F.gumbel_softmax's properties; SchNet's
continuous-filter convolution (gaussian RBF, cosine cutoff, scatter sums) and a Graphormer-lite layer
(shortest-path spatial bias from numpy, degree embeddings).
"""
import math

import numpy as np
import pytest

import tinygrad_rnn as tg
from conftest import default_dtype
from ports import compare as _compare, load as _load, state as _state

pytestmark = [pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled:UserWarning"),
              pytest.mark.filterwarnings("ignore:torch.sparse.SparseTensor.*is deprecated:UserWarning")]


@pytest.fixture
def torch():
    """torch, with float64 as both libraries' default dtype for the test, seeded (the weights torch draws for a
    program are the same every run)."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    with default_dtype("float64"):
        yield torch


def _rng(seed=0):
    return np.random.default_rng(seed)


def _grads(m):
    return {k: p.grad for k, p in m.named_parameters() if p.grad is not None}


def _all_grads(m):
    """Every parameter's gradient, asserting each has one (the check the task asks for: none left out)."""
    g = {k: p.grad for k, p in m.named_parameters()}
    missing = [k for k, v in g.items() if v is None]
    assert not missing, missing
    return g


def _random_graphs(rng, sizes, p=0.4):
    """Undirected random graphs (each connected by a path, plus random edges), batched: edge_index (2, E) with both
    directions, the batch vector (N,)."""
    src, dst, batch, off = [], [], [], 0
    for g, n in enumerate(sizes):
        edges = {(i, i + 1) for i in range(n - 1)}
        edges |= {(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < p}
        for i, j in sorted(edges):
            src += [i + off, j + off]
            dst += [j + off, i + off]
        batch += [g] * n
        off += n
    return np.array([src, dst], dtype=np.int64), np.array(batch, dtype=np.int64)


# ------------------------------------------------------------------------------------------------------- pygcn
def _pygcn_data(rng, n=12, nfeat=7, nclass=3):
    """pygcn's utils.load_data, on a random graph: features row-normalised, adj = normalize(adj + I) (the
    symmetric adjacency, as a COO: row, col, data), labels, the train / val index."""
    edge_index, _ = _random_graphs(rng, [n], p=0.25)
    features = (rng.random((n, nfeat)) < 0.4).astype(float)
    features[:, 0] = 1.
    features = features / features.sum(1, keepdims=True)
    dense = np.zeros((n, n))
    dense[edge_index[0], edge_index[1]] = 1.
    dense += np.eye(n)
    rowsum = dense.sum(1)
    r_inv = np.power(rowsum, -1).flatten()
    r_inv[np.isinf(r_inv)] = 0.
    adj = r_inv[:, None] * dense
    row, col = np.nonzero(adj)  # (a scipy coo's row, col and data)
    return features, (row, col, adj[row, col]), rng.integers(0, nclass, n), np.arange(6), np.arange(6, 12)


def pygcn(T, sd, features, coo, labels, idx_train, idx_val, masks, legacy):
    """tkipf/pygcn: GraphConvolution (torch.mm then torch.spmm on the sparse adjacency, a Parameter filled by
    uniform_(-stdv, stdv)), relu, dropout (the mask drawn in numpy, as F.dropout's), log_softmax, nll_loss on
    idx_train, Adam(weight_decay=5e-4); the accuracy helper; eval after each step (model.eval(), the val loss)."""
    nn, F = T.nn, T.nn.functional
    from_numpy = T.from_numpy
    class GraphConvolution(nn.Module):
        def __init__(self, in_features, out_features, bias=True):
            super(GraphConvolution, self).__init__()
            self.in_features = in_features
            self.out_features = out_features
            self.weight = nn.Parameter(T.DoubleTensor(in_features, out_features))
            if bias:
                self.bias = nn.Parameter(T.DoubleTensor(out_features))
            else:
                self.register_parameter('bias', None)
            self.reset_parameters()
        def reset_parameters(self):
            stdv = 1. / math.sqrt(self.weight.size(1))
            self.weight.data.uniform_(-stdv, stdv)
            if self.bias is not None:
                self.bias.data.uniform_(-stdv, stdv)
        def forward(self, input, adj):
            support = T.mm(input, self.weight)
            output = T.spmm(adj, support)
            if self.bias is not None:
                return output + self.bias
            else:
                return output
        def __repr__(self):
            return self.__class__.__name__ + ' (' + str(self.in_features) + ' -> ' + str(self.out_features) + ')'
    class GCN(nn.Module):
        def __init__(self, nfeat, nhid, nclass, dropout):
            super(GCN, self).__init__()
            self.gc1 = GraphConvolution(nfeat, nhid)
            self.gc2 = GraphConvolution(nhid, nclass)
            self.dropout = dropout
        def forward(self, x, adj, mask=None):
            x = F.relu(self.gc1(x, adj))
            if self.training:  # (F.dropout(x, self.dropout, training=self.training), its mask drawn in numpy)
                x = x * mask / (1 - self.dropout)
            x = self.gc2(x, adj)
            return F.log_softmax(x, dim=1)
    def accuracy(output, labels):
        preds = output.max(1)[1].type_as(labels)
        correct = preds.eq(labels).double()
        correct = correct.sum()
        return correct / len(labels)
    def sparse_mx_to_torch_sparse_tensor(row, col, data, shape):
        indices = from_numpy(np.vstack((row, col)).astype(np.int64))
        values = from_numpy(data)
        shape = T.Size(shape)
        if legacy:
            return T.sparse.DoubleTensor(indices, values, shape)
        return T.sparse_coo_tensor(indices, values, shape)
    model = GCN(nfeat=features.shape[1], nhid=5, nclass=int(labels.max()) + 1, dropout=0.5)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    assert repr(model.gc1) == "GraphConvolution (7 -> 5)"
    n = features.shape[0]
    adj = sparse_mx_to_torch_sparse_tensor(*coo, (n, n))
    features = T.DoubleTensor(features)
    labels = T.LongTensor(labels)
    idx_train, idx_val = T.LongTensor(idx_train), T.LongTensor(idx_val)
    optimizer = T.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    out = [adj.to_dense(), T.sparse.sum(adj, dim=1).to_dense()]
    for epoch in range(3):
        model.train()
        optimizer.zero_grad()
        output = model(features, adj, T.tensor(masks[epoch]))
        loss_train = F.nll_loss(output[idx_train], labels[idx_train])
        acc_train = accuracy(output[idx_train], labels[idx_train])
        loss_train.backward()
        optimizer.step()
        model.eval()
        output = model(features, adj)
        loss_val = F.nll_loss(output[idx_val], labels[idx_val])
        acc_val = accuracy(output[idx_val], labels[idx_val])
        out += [loss_train.item(), acc_train.item(), loss_val.item(), acc_val.item(), output,
                _all_grads(model)]
    return out + [_state(model)]


@pytest.mark.parametrize("legacy", [False, True])
def test_pygcn_spmm(torch, legacy):
    rng = _rng(1)
    features, coo, labels, idx_train, idx_val = _pygcn_data(rng)
    masks = [(rng.random((12, 5)) > 0.5).astype(float) for _ in range(3)]
    sd = pygcn(torch, None, features, coo, labels, idx_train, idx_val, masks, legacy)
    _compare(pygcn(tg, sd, features, coo, labels, idx_train, idx_val, masks, legacy),
             pygcn(torch, sd, features, coo, labels, idx_train, idx_val, masks, legacy))


def pygat(T, sd, features, adj, labels, idx_train, native):
    """Diego999/pyGAT's SpGAT: SpGraphAttentionLayer (edges from adj.nonzero(), per-edge attention exp(-leakyrelu(a
    [h_i || h_j])), its SpecialSpmmFunction: a custom autograd.Function saving the sparse matrix and returning
    torch.matmul(sparse, dense), its backward the sparse pattern's gradient by _indices(); or, ``native``, the
    sparse product torch.sparse.mm differentiates itself (gradients to the values)), heads added by add_module,
    ELU, log_softmax, Adam(weight_decay); dropout layers in eval mode."""
    nn, F = T.nn, T.nn.functional
    class SpecialSpmmFunction(T.autograd.Function):
        """Special function for only sparse region backpropataion layer."""
        @staticmethod
        def forward(ctx, indices, values, shape, b):
            assert indices.requires_grad == False
            a = T.sparse_coo_tensor(indices, values, shape)
            ctx.save_for_backward(a, b)
            ctx.N = shape[0]
            return T.matmul(a, b)
        @staticmethod
        def backward(ctx, grad_output):
            a, b = ctx.saved_tensors
            grad_values = grad_b = None
            if ctx.needs_input_grad[1]:
                grad_a_dense = grad_output.matmul(b.t())
                edge_idx = a._indices()[0, :] * ctx.N + a._indices()[1, :]
                grad_values = grad_a_dense.view(-1)[edge_idx]
            if ctx.needs_input_grad[3]:
                grad_b = a.t().matmul(grad_output)
            return None, grad_values, None, grad_b
    class SpecialSpmm(nn.Module):
        def forward(self, indices, values, shape, b):
            if native:
                return T.sparse.mm(T.sparse_coo_tensor(indices, values, shape), b)
            return SpecialSpmmFunction.apply(indices, values, shape, b)
    class SpGraphAttentionLayer(nn.Module):
        def __init__(self, in_features, out_features, dropout, alpha, concat=True):
            super(SpGraphAttentionLayer, self).__init__()
            self.in_features = in_features
            self.out_features = out_features
            self.alpha = alpha
            self.concat = concat
            self.W = nn.Parameter(T.zeros(size=(in_features, out_features)))
            nn.init.xavier_normal_(self.W.data, gain=1.414)
            self.a = nn.Parameter(T.zeros(size=(1, 2*out_features)))
            nn.init.xavier_normal_(self.a.data, gain=1.414)
            self.dropout = nn.Dropout(dropout)
            self.leakyrelu = nn.LeakyReLU(self.alpha)
            self.special_spmm = SpecialSpmm()
        def forward(self, input, adj):
            dv = 'cuda' if input.is_cuda else 'cpu'
            N = input.size()[0]
            edge = adj.nonzero().t()
            h = T.mm(input, self.W)
            assert not T.isnan(h).any()
            edge_h = T.cat((h[edge[0, :], :], h[edge[1, :], :]), dim=1).t()
            edge_e = T.exp(-self.leakyrelu(self.a.mm(edge_h).squeeze()))
            assert not T.isnan(edge_e).any()
            e_rowsum = self.special_spmm(edge, edge_e, T.Size([N, N]), T.ones(size=(N, 1), device=dv))
            edge_e = self.dropout(edge_e)
            h_prime = self.special_spmm(edge, edge_e, T.Size([N, N]), h)
            assert not T.isnan(h_prime).any()
            h_prime = h_prime.div(e_rowsum)
            assert not T.isnan(h_prime).any()
            if self.concat:
                return F.elu(h_prime)
            else:
                return h_prime
    class SpGAT(nn.Module):
        def __init__(self, nfeat, nhid, nclass, dropout, alpha, nheads):
            super(SpGAT, self).__init__()
            self.dropout = dropout
            self.attentions = [SpGraphAttentionLayer(nfeat, nhid, dropout=dropout, alpha=alpha, concat=True)
                               for _ in range(nheads)]
            for i, attention in enumerate(self.attentions):
                self.add_module('attention_{}'.format(i), attention)
            self.out_att = SpGraphAttentionLayer(nhid * nheads, nclass, dropout=dropout, alpha=alpha, concat=False)
        def forward(self, x, adj):
            x = F.dropout(x, self.dropout, training=self.training)
            x = T.cat([att(x, adj) for att in self.attentions], dim=1)
            x = F.dropout(x, self.dropout, training=self.training)
            x = F.elu(self.out_att(x, adj))
            return F.log_softmax(x, dim=1)
    model = SpGAT(nfeat=features.shape[1], nhid=4, nclass=int(labels.max()) + 1, dropout=0.6, alpha=0.2, nheads=2)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    features, adj = T.DoubleTensor(features), T.DoubleTensor(adj)
    labels, idx_train = T.LongTensor(labels), T.LongTensor(idx_train)
    optimizer = T.optim.Adam(model.parameters(), lr=0.005, weight_decay=5e-4)
    out = []
    model.eval()
    for epoch in range(3):
        optimizer.zero_grad()
        output = model(features, adj)
        loss_train = F.nll_loss(output[idx_train], labels[idx_train])
        loss_train.backward()
        optimizer.step()
        out += [output, loss_train.data.item(), _all_grads(model)]
    return out + [_state(model)]


@pytest.mark.parametrize("native", [False, True])
def test_pygat_sparse_attention_custom_spmm_function(torch, native):
    rng = _rng(2)
    features, (row, col, _), labels, idx_train, _ = _pygcn_data(rng)
    adj = np.zeros((12, 12))
    adj[row, col] = 1.
    sd = pygat(torch, None, features, adj, labels, idx_train, native)
    _compare(pygat(tg, sd, features, adj, labels, idx_train, native),
             pygat(torch, sd, features, adj, labels, idx_train, native))


# ------------------------------------------------------------------------------------------------ GraphSAGE, GIN
def graphsage(T, sd, x, edge_index, y, train_mask, aggr):
    """GraphSAGE (Hamilton et al.) written without torch_scatter, as PyG's SAGEConv computes it: the mean of the
    neighbours' features by index_add_ of x[src] into dst over the in-degree (clamped at 1), or by
    scatter_reduce('mean' / 'amax', include_self=False) on an expanded index; lin_l(agg) + lin_r(x), L2-normalised
    (F.normalize); two layers, dropout in eval mode, cross_entropy on a mask, Adam + StepLR."""
    nn, F = T.nn, T.nn.functional
    class SAGEConv(nn.Module):
        def __init__(self, in_channels, out_channels, normalize=True):
            super().__init__()
            self.lin_l = nn.Linear(in_channels, out_channels, bias=True)
            self.lin_r = nn.Linear(in_channels, out_channels, bias=False)
            self.normalize = normalize
        def aggregate(self, x, edge_index):
            src, dst = edge_index
            N = x.size(0)
            if aggr == "index_add":
                out = x.new_zeros(N, x.size(1)).index_add_(0, dst, x[src])
                deg = x.new_zeros(N).index_add_(0, dst, x.new_ones(src.numel()))
                return out / deg.clamp(min=1).unsqueeze(-1)
            index = dst.unsqueeze(-1).expand(-1, x.size(1))
            return T.zeros_like(x).scatter_reduce(0, index, x[src], reduce=aggr, include_self=False)
        def forward(self, x, edge_index):
            out = self.lin_l(self.aggregate(x, edge_index)) + self.lin_r(x)
            if self.normalize:
                out = F.normalize(out, p=2., dim=-1)
            return out
    class SAGE(nn.Module):
        def __init__(self, in_channels, hidden_channels, out_channels):
            super().__init__()
            self.convs = nn.ModuleList([SAGEConv(in_channels, hidden_channels),
                                        SAGEConv(hidden_channels, out_channels, normalize=False)])
        def forward(self, x, edge_index):
            for i, conv in enumerate(self.convs):
                x = conv(x, edge_index)
                if i < len(self.convs) - 1:
                    x = x.relu_()
                    x = F.dropout(x, p=0.5, training=self.training)
            return x
    model = SAGE(x.shape[1], 6, 3)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    x, edge_index, y, train_mask = T.tensor(x), T.from_numpy(edge_index), T.tensor(y), T.tensor(train_mask)
    optimizer = T.optim.Adam(model.parameters(), lr=0.01)
    scheduler = T.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    model.eval()
    out = []
    for epoch in range(4):
        optimizer.zero_grad()
        h = model(x, edge_index)
        loss = F.cross_entropy(h[train_mask], y[train_mask])
        loss.backward()
        optimizer.step()
        scheduler.step()
        pred = h.argmax(dim=-1)
        out += [h, loss, int((pred[~train_mask] == y[~train_mask]).sum()), _all_grads(model)]
    return out + [_state(model)]


@pytest.mark.parametrize("aggr", ["index_add", "mean", "amax"])
def test_graphsage_mean_and_max_aggregation(torch, aggr):
    rng = _rng(3)
    edge_index, _ = _random_graphs(rng, [14], p=0.2)
    edge_index = edge_index[:, edge_index[1] != 13]  # (node 13 gets no message: its aggregate stays 0)
    x, y = rng.standard_normal((14, 5)), rng.integers(0, 3, 14)
    train_mask = rng.random(14) < 0.6
    sd = graphsage(torch, None, x, edge_index, y, train_mask, aggr)
    _compare(graphsage(tg, sd, x, edge_index, y, train_mask, aggr),
             graphsage(torch, sd, x, edge_index, y, train_mask, aggr))


def gin(T, sd, x, edge_index, batch, y):
    """GIN (Xu et al., PyG's GINConv and the graph-classification example): h = MLP((1 + eps) x + sum of the
    neighbours, by index_add_) with a learnable eps (train_eps), MLPs of Linear-ReLU-Linear, then ReLU and
    BatchNorm1d in train mode (PyG's mutag_gin.py), a sum pooling per graph by index_add_ over the batch vector for
    every layer's output (the jumping-knowledge readout, concatenated), dropout off, log_softmax + nll_loss; SGD with
    momentum, not the example's Adam: the bias of a unit whose ReLU is on at every node gets a zero gradient (the
    BatchNorm takes its mean away), ~1e-16 of roundoff, which Adam scales up to ~lr * 1e-8 in either library."""
    nn, F = T.nn, T.nn.functional
    class GINConv(nn.Module):
        def __init__(self, mlp, eps=0., train_eps=False):
            super().__init__()
            self.nn = mlp
            self.initial_eps = eps
            if train_eps:
                self.eps = nn.Parameter(T.Tensor([eps]))
            else:
                self.register_buffer('eps', T.Tensor([eps]))
        def forward(self, x, edge_index):
            out = T.zeros_like(x)
            out.index_add_(0, edge_index[1], x.index_select(0, edge_index[0]))
            out = out + (1 + self.eps) * x
            return self.nn(out)
    def global_add_pool(x, batch, size=None):
        size = int(batch.max().item() + 1) if size is None else size
        return x.new_zeros(size, x.size(-1)).index_add_(0, batch, x)
    class GIN(nn.Module):
        def __init__(self, in_channels, hidden, out_channels, num_layers):
            super().__init__()
            self.convs, self.bns = nn.ModuleList(), nn.ModuleList()
            for i in range(num_layers):
                mlp = nn.Sequential(nn.Linear(in_channels if i == 0 else hidden, hidden), nn.ReLU(),
                                    nn.Linear(hidden, hidden))
                self.convs.append(GINConv(mlp, train_eps=True))
                self.bns.append(nn.BatchNorm1d(hidden))
            self.lin1 = nn.Linear(num_layers * hidden, hidden)
            self.lin2 = nn.Linear(hidden, out_channels)
        def forward(self, x, edge_index, batch):
            xs = []
            for conv, bn in zip(self.convs, self.bns):
                x = bn(F.relu(conv(x, edge_index)))
                xs.append(global_add_pool(x, batch))
            x = F.relu(self.lin1(T.cat(xs, dim=1)))
            x = F.dropout(x, p=0.5, training=False)
            return F.log_softmax(self.lin2(x), dim=-1)
    model = GIN(x.shape[1], 5, 2, 3)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    x, edge_index, batch, y = T.tensor(x), T.tensor(edge_index), T.tensor(batch), T.tensor(y)
    with T.no_grad():
        for conv in model.convs:
            conv.eps.fill_(0.1)
    optimizer = T.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    out = []
    model.train()
    for epoch in range(3):
        optimizer.zero_grad()
        output = model(x, edge_index, batch)
        loss = F.nll_loss(output, y)
        loss.backward()
        optimizer.step()
        out += [output, loss.item() * batch.max().item(), _all_grads(model)]
    return out + [_state(model)]


def test_gin_sum_pooling_learnable_eps(torch):
    rng = _rng(4)
    edge_index, batch = _random_graphs(rng, [4, 6, 5, 3])
    x = rng.standard_normal((len(batch), 3))
    y = np.array([0, 1, 1, 0])
    sd = gin(torch, None, x, edge_index, batch, y)
    _compare(gin(tg, sd, x, edge_index, batch, y), gin(torch, sd, x, edge_index, batch, y))


# ----------------------------------------------------------------------------------------------------------- GGNN
def ggnn_dense(T, sd, annotation, A, target):
    """chingyaoc/ggnn.pytorch (Li et al.'s GGNN on bAbI): per-edge-type in / out Linears reached through an
    AttrProxy over add_module'd children, states stacked, transposed and viewed to (B, N * E, D), the Propogator's
    bmm with the in / out halves of the dense adjacency A (B, N, 2 N E), its gated update (reset / update gates,
    tanh transform) shared over n_steps, the output MLP summed over its last dim; weights normal_(0, 0.02),
    biases fill_(0) by iterating self.modules(); CrossEntropyLoss over the node scores; SGD with momentum, not the
    repository's Adam: the last Linear's bias shifts every node's score alike, so its gradient is zero but for
    roundoff, which Adam scales up to ~lr * 1e-8 (the same in either library, but not the same roundoff)."""
    nn = T.nn
    class AttrProxy(object):
        def __init__(self, module, prefix):
            self.module = module
            self.prefix = prefix
        def __getitem__(self, i):
            return getattr(self.module, self.prefix + str(i))
    class Propogator(nn.Module):
        def __init__(self, state_dim, n_node, n_edge_types):
            super(Propogator, self).__init__()
            self.n_node = n_node
            self.n_edge_types = n_edge_types
            self.reset_gate = nn.Sequential(nn.Linear(state_dim*3, state_dim), nn.Sigmoid())
            self.update_gate = nn.Sequential(nn.Linear(state_dim*3, state_dim), nn.Sigmoid())
            self.tansform = nn.Sequential(nn.Linear(state_dim*3, state_dim), nn.Tanh())
        def forward(self, state_in, state_out, state_cur, A):
            A_in = A[:, :, :self.n_node*self.n_edge_types]
            A_out = A[:, :, self.n_node*self.n_edge_types:]
            a_in = T.bmm(A_in, state_in)
            a_out = T.bmm(A_out, state_out)
            a = T.cat((a_in, a_out, state_cur), 2)
            r = self.reset_gate(a)
            z = self.update_gate(a)
            joined_input = T.cat((a_in, a_out, r * state_cur), 2)
            h_hat = self.tansform(joined_input)
            output = (1 - z) * state_cur + z * h_hat
            return output
    class GGNN(nn.Module):
        def __init__(self, opt):
            super(GGNN, self).__init__()
            assert opt.state_dim >= opt.annotation_dim, 'state_dim must be no less than annotation_dim'
            self.state_dim = opt.state_dim
            self.annotation_dim = opt.annotation_dim
            self.n_edge_types = opt.n_edge_types
            self.n_node = opt.n_node
            self.n_steps = opt.n_steps
            for i in range(self.n_edge_types):
                in_fc = nn.Linear(self.state_dim, self.state_dim)
                out_fc = nn.Linear(self.state_dim, self.state_dim)
                self.add_module("in_{}".format(i), in_fc)
                self.add_module("out_{}".format(i), out_fc)
            self.in_fcs = AttrProxy(self, "in_")
            self.out_fcs = AttrProxy(self, "out_")
            self.propogator = Propogator(self.state_dim, self.n_node, self.n_edge_types)
            self.out = nn.Sequential(nn.Linear(self.state_dim + self.annotation_dim, self.state_dim), nn.Tanh(),
                                     nn.Linear(self.state_dim, 1))
            self._initialization()
        def _initialization(self):
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    m.weight.data.normal_(0.0, 0.02)
                    m.bias.data.fill_(0)
        def forward(self, prop_state, annotation, A):
            for i_step in range(self.n_steps):
                in_states = []
                out_states = []
                for i in range(self.n_edge_types):
                    in_states.append(self.in_fcs[i](prop_state))
                    out_states.append(self.out_fcs[i](prop_state))
                in_states = T.stack(in_states).transpose(0, 1).contiguous()
                in_states = in_states.view(-1, self.n_node*self.n_edge_types, self.state_dim)
                out_states = T.stack(out_states).transpose(0, 1).contiguous()
                out_states = out_states.view(-1, self.n_node*self.n_edge_types, self.state_dim)
                prop_state = self.propogator(in_states, out_states, prop_state, A)
            join_state = T.cat((prop_state, annotation), 2)
            output = self.out(join_state)
            output = output.sum(2)
            return output
    class Opt:
        state_dim, annotation_dim, n_edge_types, n_node, n_steps = 4, 1, 2, annotation.shape[1], 3
    net = GGNN(Opt)
    if sd is None:
        return _state(net)
    _load(T, net, sd)
    net.double()
    criterion = nn.CrossEntropyLoss()
    optimizer = T.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    out = []
    for epoch in range(3):
        net.zero_grad()
        padding = T.zeros(len(annotation), Opt.n_node, Opt.state_dim - Opt.annotation_dim).double()
        init_input = T.cat((T.tensor(annotation), padding), 2)
        output = net(init_input, T.tensor(annotation), T.tensor(A))
        loss = criterion(output, T.tensor(target))
        loss.backward()
        optimizer.step()
        out += [output, loss, _all_grads(net)]
    return out + [_state(net)]


def _ggnn_babi(rng, B=3, N=5, E=2):
    """bAbI-style batches: the dense adjacency A (B, N, 2 N E) with its in and out halves, as ggnn.pytorch's
    create_adjacency_matrix fills them, annotations (one marked node) and the target node."""
    A = np.zeros((B, N, 2 * N * E))
    for b in range(B):
        for src, e, dst in {(int(rng.integers(N)), int(rng.integers(E)), int(rng.integers(N))) for _ in range(7)}:
            A[b, dst, e * N + src] = 1
            A[b, src, (e + E) * N + dst] = 1
    annotation = np.zeros((B, N, 1))
    annotation[np.arange(B), rng.integers(0, N, B), 0] = 1
    return annotation, A, rng.integers(0, N, B)


def test_ggnn_dense_propagator(torch):
    annotation, A, target = _ggnn_babi(_rng(5))
    sd = ggnn_dense(torch, None, annotation, A, target)
    _compare(ggnn_dense(tg, sd, annotation, A, target), ggnn_dense(torch, sd, annotation, A, target))


def ggnn_sparse(T, sd, x, edge_index, edge_type, batch, y):
    """The gated graph network as PyG's GatedGraphConv and the GGS-NN readout (Li et al. eq. 7) write it: the
    state zero-padded to out_channels, per step per-edge-type messages (x @ weight[i], the edge type picked by a
    boolean mask, index_add_ into the targets), one GRUCell shared over the steps (its weights' gradient sums every
    step's), then the soft-attention graph readout sum_v sigmoid(i(h_v, x_v)) * tanh(j(h_v)) per graph by index_add;
    BCEWithLogitsLoss, RMSprop, gradient clipping."""
    nn, F = T.nn, T.nn.functional
    class GatedGraphConv(nn.Module):
        def __init__(self, out_channels, num_layers, num_edge_types):
            super().__init__()
            self.out_channels = out_channels
            self.num_layers = num_layers
            self.weight = nn.Parameter(T.empty(num_layers, num_edge_types, out_channels, out_channels))
            self.rnn = nn.GRUCell(out_channels, out_channels)
            self.reset_parameters()
        def reset_parameters(self):
            nn.init.uniform_(self.weight, -1 / math.sqrt(self.out_channels), 1 / math.sqrt(self.out_channels))
            self.rnn.reset_parameters()
        def forward(self, x, edge_index, edge_type):
            if x.size(-1) < self.out_channels:
                zero = x.new_zeros(x.size(0), self.out_channels - x.size(-1))
                x = T.cat([x, zero], dim=1)
            for i in range(self.num_layers):
                m = x.new_zeros(x.size(0), self.out_channels)
                for t in range(self.weight.size(1)):
                    mask = edge_type == t
                    msg = T.matmul(x, self.weight[i, t])
                    m.index_add_(0, edge_index[1][mask], msg[edge_index[0][mask]])
                x = self.rnn(m, x)
            return x
    class GGSNN(nn.Module):
        def __init__(self, in_channels, hidden, num_layers, num_edge_types):
            super().__init__()
            self.conv = GatedGraphConv(hidden, num_layers, num_edge_types)
            self.i = nn.Linear(hidden + in_channels, 1)
            self.j = nn.Linear(hidden, 4)
            self.out = nn.Linear(4, 1)
        def forward(self, x, edge_index, edge_type, batch, num_graphs):
            h = self.conv(x, edge_index, edge_type)
            gate = T.sigmoid(self.i(T.cat([h, x], dim=-1)))
            hg = x.new_zeros(num_graphs, 4).index_add_(0, batch, gate * T.tanh(self.j(h)))
            return self.out(hg).squeeze(-1), h
    model = GGSNN(x.shape[1], 5, 3, 3)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    x, edge_index, edge_type = T.tensor(x), T.tensor(edge_index), T.tensor(edge_type)
    batch, y = T.tensor(batch), T.tensor(y)
    optimizer = T.optim.RMSprop(model.parameters(), lr=0.005)
    loss_fn = nn.BCEWithLogitsLoss()
    out = []
    for step in range(3):
        optimizer.zero_grad()
        logits, h = model(x, edge_index, edge_type, batch, int(batch.max()) + 1)
        loss = loss_fn(logits, y)
        loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        out += [logits, h, loss, norm, _all_grads(model)]
    return out + [_state(model)]


def test_ggnn_gru_cell_index_add_and_attention_readout(torch):
    rng = _rng(6)
    edge_index, batch = _random_graphs(rng, [5, 4, 6])
    edge_type = rng.integers(0, 3, edge_index.shape[1])
    x = rng.standard_normal((len(batch), 3))
    y = np.array([1., 0., 1.])
    sd = ggnn_sparse(torch, None, x, edge_index, edge_type, batch, y)
    _compare(ggnn_sparse(tg, sd, x, edge_index, edge_type, batch, y),
             ggnn_sparse(torch, sd, x, edge_index, edge_type, batch, y))
