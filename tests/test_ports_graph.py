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
continuous-filter convolution (gaussian RBF, cosine cutoff, scatter sums, trained on forces: a double backward)
and a Graphormer-lite encoder (shortest-path spatial bias from numpy, degree embeddings); APPNP with learnt edge
weights on torch.sparse (sparse_coo_tensor values that require grad, torch.sparse.sum degrees, sparse.mm, a
PageRank by torch.mv, a sparse batch through torch.bmm); gae-pytorch's VGAE (spmm GCN encoder, inner product
decoder, pos_weight BCE and KL) and DiffPool on dense padded batches (DenseSAGEConv, link and entropy losses);
R-GCN with basis decomposition on per-relation sparse adjacencies (torch.sparse.sum degrees, sparse.mm), and a
Graph U-Net style classifier with TopKPooling (per-graph top-k by a stable argsort, filter_adj relabelling).
"""
import math

import numpy as np
import pytest

import tinygrad_rnn as tg
from ports import compare as _compare, load as _load, rng as _rng, state as _state

pytestmark = [pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled:UserWarning"),
              pytest.mark.filterwarnings("ignore:torch.sparse.SparseTensor.*is deprecated:UserWarning")]


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
    nn = T.nn
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


# ----------------------------------------------------------------------------------------------------------- MPNN
def _scatter_softmax(src, index, num_segments):
    """PyG's utils.softmax without torch_scatter: the max per segment (of src detached) by scatter_reduce('amax'),
    exp, the sums by index_add_, divided back out at each entry (+1e-16)."""
    src_max = src.detach().new_zeros(num_segments, src.size(-1)).scatter_reduce(
        0, index.unsqueeze(-1).expand_as(src), src.detach(), reduce="amax", include_self=False)
    out = (src - src_max.index_select(0, index)).exp()
    out_sum = out.new_zeros(num_segments, src.size(-1)).index_add_(0, index, out) + 1e-16
    return out / out_sum.index_select(0, index)


def mpnn(T, sd, x, edge_index, edge_attr, batch, y):
    """Gilmer et al.'s MPNN as PyG's QM9 example (examples/qm9_nn_conv.py) builds it, without torch_scatter: lin0,
    NNConv (an edge network Sequential(Linear, ReLU, Linear(dim * dim)) giving each edge its own (dim, dim)
    weight, messages x_j @ W_e by bmm, aggr='mean' by index_add_ over the in-degree, plus a root weight and bias),
    a GRU over 3 message-passing steps (out, h = gru(m.unsqueeze(0), h)), Set2Set (an LSTM over processing steps,
    attention a scatter softmax by index ops, r its weighted sum per graph), lin1 / lin2, mse_loss; Adam and
    ReduceLROnPlateau on the loss."""
    nn, F = T.nn, T.nn.functional
    class NNConv(nn.Module):
        def __init__(self, in_channels, out_channels, nn_, aggr='mean', root_weight=True, bias=True):
            super().__init__()
            self.in_channels, self.out_channels, self.nn, self.aggr = in_channels, out_channels, nn_, aggr
            self.lin = nn.Linear(in_channels, out_channels, bias=False) if root_weight else None
            self.bias = nn.Parameter(T.zeros(out_channels)) if bias else None
        def forward(self, x, edge_index, edge_attr):
            src, dst = edge_index[0], edge_index[1]
            weight = self.nn(edge_attr).view(-1, self.in_channels, self.out_channels)
            msg = T.matmul(x[src].unsqueeze(1), weight).squeeze(1)
            out = x.new_zeros(x.size(0), self.out_channels).index_add_(0, dst, msg)
            if self.aggr == 'mean':
                count = x.new_zeros(x.size(0)).index_add_(0, dst, T.ones_like(dst, dtype=x.dtype))
                out = out / count.clamp(min=1).view(-1, 1)
            if self.lin is not None:
                out = out + self.lin(x)
            if self.bias is not None:
                out = out + self.bias
            return out
    class Set2Set(nn.Module):
        def __init__(self, in_channels, processing_steps):
            super().__init__()
            self.in_channels = in_channels
            self.out_channels = 2 * in_channels
            self.processing_steps = processing_steps
            self.lstm = nn.LSTM(self.out_channels, in_channels, 1)
            self.lstm.reset_parameters()
        def forward(self, x, batch, dim_size):
            h = (x.new_zeros((1, dim_size, x.size(-1))), x.new_zeros((1, dim_size, x.size(-1))))
            q_star = x.new_zeros(dim_size, self.out_channels)
            for _ in range(self.processing_steps):
                q, h = self.lstm(q_star.unsqueeze(0), h)
                q = q.view(dim_size, self.in_channels)
                e = (x * q[batch]).sum(dim=-1, keepdim=True)
                a = _scatter_softmax(e, batch, dim_size)
                r = x.new_zeros(dim_size, x.size(-1)).index_add_(0, batch, a * x)
                q_star = T.cat([q, r], dim=-1)
            return q_star
    dim = 4
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin0 = nn.Linear(x.shape[1], dim)
            nn_ = nn.Sequential(nn.Linear(edge_attr.shape[1], 8), nn.ReLU(), nn.Linear(8, dim * dim))
            self.conv = NNConv(dim, dim, nn_, aggr='mean')
            self.gru = nn.GRU(dim, dim)
            self.set2set = Set2Set(dim, processing_steps=3)
            self.lin1 = nn.Linear(2 * dim, dim)
            self.lin2 = nn.Linear(dim, 1)
        def forward(self, data):
            out = F.relu(self.lin0(data.x))
            h = out.unsqueeze(0)
            for i in range(3):
                m = F.relu(self.conv(out, data.edge_index, data.edge_attr))
                out, h = self.gru(m.unsqueeze(0), h)
                out = out.squeeze(0)
            out = self.set2set(out, data.batch, data.num_graphs)
            out = F.relu(self.lin1(out))
            out = self.lin2(out)
            return out.view(-1)
    model = Net()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    class Data:
        pass
    data = Data()
    data.x, data.edge_index, data.edge_attr = T.tensor(x), T.tensor(edge_index), T.tensor(edge_attr)
    data.batch, data.y, data.num_graphs = T.tensor(batch), T.tensor(y), int(batch.max()) + 1
    optimizer = T.optim.Adam(model.parameters(), lr=0.001)
    scheduler = T.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode='min', factor=0.7, patience=0, min_lr=0.00001)
    out = []
    model.train()
    for epoch in range(3):
        optimizer.zero_grad()
        pred = model(data)
        loss = F.mse_loss(pred, data.y)
        loss.backward()
        out += [pred, loss, _all_grads(model)]
        optimizer.step()
        scheduler.step(-loss.item() if epoch == 1 else loss.item())
        out.append(optimizer.param_groups[0]['lr'])
    return out + [_state(model)]


def test_mpnn_nnconv_gru_set2set(torch):
    rng = _rng(7)
    edge_index, batch = _random_graphs(rng, [4, 5, 3])
    x, edge_attr = rng.standard_normal((len(batch), 3)), rng.standard_normal((edge_index.shape[1], 2))
    y = rng.standard_normal(3)
    sd = mpnn(torch, None, x, edge_index, edge_attr, batch, y)
    _compare(mpnn(tg, sd, x, edge_index, edge_attr, batch, y), mpnn(torch, sd, x, edge_index, edge_attr, batch, y))


def test_scatter_softmax_of_index_ops(torch):
    """The segment softmax (PyG's utils.softmax) each library builds of scatter_reduce / index_add_ /
    index_select: values and gradients (through the non-detached src)."""
    rng = _rng(8)
    index = np.array([0, 0, 2, 2, 2, 3])  # (segment 1 is empty)
    src = rng.standard_normal((6, 2))
    w = rng.standard_normal((6, 2))
    res = []
    for T in (tg, torch):
        s = T.tensor(src, requires_grad=True)
        out = _scatter_softmax(s, T.tensor(index), 4)
        (out * T.tensor(w)).sum().backward()
        res.append([out, s.grad])
    _compare(*res)


# --------------------------------------------------------------------------------- relation network, graph network
def relation_network(T, sd, img, qst, label):
    """kimhc6028/relational-networks' RN (Sort-of-CLEVR): a conv stack to a (mb, 24, d, d) feature map, the
    coordinate features built by cvt_coord and stacked (mb, 25, 2), objects flattened and tagged, every pair made
    by unsqueeze / repeat / cat with the question repeated over the pairs, g_theta on (mb * 25 * 25, 63), summed
    over pairs, f_phi with dropout off and log_softmax, nll_loss; Adam."""
    nn, F = T.nn, T.nn.functional
    class ConvInputModel(nn.Module):
        def __init__(self):
            super(ConvInputModel, self).__init__()
            self.conv1 = nn.Conv2d(3, 24, 3, stride=2, padding=1)
            self.batchNorm1 = nn.BatchNorm2d(24)
            self.conv2 = nn.Conv2d(24, 24, 3, stride=2, padding=1)
            self.batchNorm2 = nn.BatchNorm2d(24)
        def forward(self, img):
            x = self.conv1(img)
            x = F.relu(x)
            x = self.batchNorm1(x)
            x = self.conv2(x)
            x = F.relu(x)
            x = self.batchNorm2(x)
            return x
    class FCOutputModel(nn.Module):
        def __init__(self):
            super(FCOutputModel, self).__init__()
            self.fc2 = nn.Linear(16, 16)
            self.fc3 = nn.Linear(16, 10)
        def forward(self, x):
            x = self.fc2(x)
            x = F.relu(x)
            x = F.dropout(x, training=False)
            x = self.fc3(x)
            return F.log_softmax(x, dim=1)
    mb, d = img.shape[0], 2
    class RN(nn.Module):
        def __init__(self):
            super(RN, self).__init__()
            self.conv = ConvInputModel()
            self.g_fc1 = nn.Linear((24+2)*2+11, 16)
            self.g_fc2 = nn.Linear(16, 16)
            self.g_fc3 = nn.Linear(16, 16)
            self.g_fc4 = nn.Linear(16, 16)
            self.f_fc1 = nn.Linear(16, 16)
            self.coord_oi = T.FloatTensor(mb, 2).double()
            self.coord_oj = T.FloatTensor(mb, 2).double()
            def cvt_coord(i):
                return [(i/d-d/2.)/(d/2.), (i % d-d/2.)/(d/2.)]
            self.coord_tensor = T.FloatTensor(mb, d*d, 2).double()
            np_coord_tensor = np.zeros((mb, d*d, 2))
            for i in range(d*d):
                np_coord_tensor[:, i, :] = np.array(cvt_coord(i))
            self.coord_tensor.data.copy_(T.from_numpy(np_coord_tensor))
            self.fcout = FCOutputModel()
        def forward(self, img, qst):
            x = self.conv(img)
            mb = x.size()[0]
            n_channels = x.size()[1]
            d = x.size()[2]
            x_flat = x.view(mb, n_channels, d*d).permute(0, 2, 1)
            x_flat = T.cat([x_flat, self.coord_tensor], 2)
            qst = T.unsqueeze(qst, 1)
            qst = qst.repeat(1, d*d, 1)
            qst = T.unsqueeze(qst, 2)
            x_i = T.unsqueeze(x_flat, 1)
            x_i = x_i.repeat(1, d*d, 1, 1)
            x_j = T.unsqueeze(x_flat, 2)
            x_j = T.cat([x_j, qst], 3)
            x_j = x_j.repeat(1, 1, d*d, 1)
            x_full = T.cat([x_i, x_j], 3)
            x_ = x_full.view(mb * (d * d) * (d * d), (24+2)*2+11)
            x_ = self.g_fc1(x_)
            x_ = F.relu(x_)
            x_ = self.g_fc2(x_)
            x_ = F.relu(x_)
            x_ = self.g_fc3(x_)
            x_ = F.relu(x_)
            x_ = self.g_fc4(x_)
            x_ = F.relu(x_)
            x_g = x_.view(mb, (d * d) * (d * d), 16)
            x_g = x_g.sum(1).squeeze()
            x_f = self.f_fc1(x_g)
            x_f = F.relu(x_f)
            return self.fcout(x_f)
    model = RN()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.Adam(model.parameters(), lr=0.0001)
    out = []
    model.train()
    for step in range(2):
        optimizer.zero_grad()
        output = model(T.tensor(img), T.tensor(qst))
        loss = F.nll_loss(output, T.tensor(label))
        loss.backward()
        optimizer.step()
        pred = output.data.max(1)[1]
        correct = pred.eq(T.tensor(label).data).cpu().sum()
        out += [output, loss, correct, _all_grads(model)]
    return out + [_state(model)]


def test_relation_network_object_pairs(torch):
    rng = _rng(9)
    img, qst = rng.standard_normal((3, 3, 8, 8)), (rng.random((3, 11)) < 0.3).astype(float)
    label = rng.integers(0, 10, 3)
    sd = relation_network(torch, None, img, qst, label)
    _compare(relation_network(tg, sd, img, qst, label), relation_network(torch, sd, img, qst, label))


def graph_network(T, sd, x, edge_index, edge_attr, u, batch, y):
    """A Graph Network block (Battaglia et al.) as PyG's MetaLayer composes it: EdgeModel phi_e([x_src, x_dst, e,
    u[batch[src]]]), NodeModel (an MLP on [x_src, e'] per edge, its mean per target node by index_add_ / counts,
    then phi_v([x, mean, u[batch]])), GlobalModel phi_u([u, mean of the nodes per graph]); two blocks, residuals,
    a graph-level regression with smooth_l1_loss; AdamW."""
    nn, F = T.nn, T.nn.functional
    def Seq(*sizes):
        layers = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        return nn.Sequential(*layers[:-1])
    def scatter_mean(src, index, dim_size):
        out = src.new_zeros(dim_size, src.size(1)).index_add_(0, index, src)
        count = src.new_zeros(dim_size).index_add_(0, index, src.new_ones(index.size(0)))
        return out / count.clamp(min=1).unsqueeze(-1)
    class EdgeModel(nn.Module):
        def __init__(self, f_x, f_e, f_u):
            super().__init__()
            self.edge_mlp = Seq(2 * f_x + f_e + f_u, 8, f_e)
        def forward(self, src, dst, edge_attr, u, batch):
            out = T.cat([src, dst, edge_attr, u[batch]], 1)
            return self.edge_mlp(out)
    class NodeModel(nn.Module):
        def __init__(self, f_x, f_e, f_u):
            super().__init__()
            self.node_mlp_1 = Seq(f_x + f_e, 8, 8)
            self.node_mlp_2 = Seq(f_x + 8 + f_u, 8, f_x)
        def forward(self, x, edge_index, edge_attr, u, batch):
            row, col = edge_index
            out = T.cat([x[row], edge_attr], dim=1)
            out = self.node_mlp_1(out)
            out = scatter_mean(out, col, dim_size=x.size(0))
            out = T.cat([x, out, u[batch]], dim=1)
            return self.node_mlp_2(out)
    class GlobalModel(nn.Module):
        def __init__(self, f_x, f_u):
            super().__init__()
            self.global_mlp = Seq(f_u + f_x, 8, f_u)
        def forward(self, x, edge_index, edge_attr, u, batch):
            out = T.cat([u, scatter_mean(x, batch, dim_size=u.size(0))], dim=1)
            return self.global_mlp(out)
    class MetaLayer(nn.Module):
        def __init__(self, edge_model=None, node_model=None, global_model=None):
            super().__init__()
            self.edge_model, self.node_model, self.global_model = edge_model, node_model, global_model
        def forward(self, x, edge_index, edge_attr=None, u=None, batch=None):
            row, col = edge_index[0], edge_index[1]
            if self.edge_model is not None:
                edge_attr = self.edge_model(x[row], x[col], edge_attr, u, batch if batch is None else batch[row])
            if self.node_model is not None:
                x = self.node_model(x, edge_index, edge_attr, u, batch)
            if self.global_model is not None:
                u = self.global_model(x, edge_index, edge_attr, u, batch)
            return x, edge_attr, u
        def __repr__(self):
            return f'{self.__class__.__name__}(\n  edge_model={self.edge_model},\n  node_model={self.node_model},' \
                   f'\n  global_model={self.global_model}\n)'
    fx, fe, fu = x.shape[1], edge_attr.shape[1], u.shape[1]
    class GN(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([MetaLayer(EdgeModel(fx, fe, fu), NodeModel(fx, fe, fu), GlobalModel(fx, fu))
                                         for _ in range(2)])
            self.head = nn.Linear(fu, 1)
        def forward(self, x, edge_index, e, u, batch):
            for block in self.blocks:
                x2, e2, u2 = block(x, edge_index, e, u, batch)
                x, e, u = x + x2, e + e2, u + u2
            return self.head(u).squeeze(-1), x, e
    model = GN()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    assert "edge_model=EdgeModel(" in repr(model.blocks[0])
    optimizer = T.optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.01)
    x, edge_index, edge_attr, u, batch, y = (T.tensor(a) for a in (x, edge_index, edge_attr, u, batch, y))
    out = []
    for step in range(3):
        optimizer.zero_grad()
        pred, xs, es = model(x, edge_index, edge_attr, u, batch)
        loss = F.smooth_l1_loss(pred, y, beta=0.5)
        loss.backward()
        optimizer.step()
        out += [pred, xs, es, loss, _all_grads(model)]
    return out + [_state(model), repr(model)]


def test_graph_network_block_meta_layer(torch):
    rng = _rng(10)
    edge_index, batch = _random_graphs(rng, [4, 3, 5])
    x, edge_attr = rng.standard_normal((len(batch), 3)), rng.standard_normal((edge_index.shape[1], 2))
    u, y = rng.standard_normal((3, 2)), rng.standard_normal(3)
    sd = graph_network(torch, None, x, edge_index, edge_attr, u, batch, y)
    ours, theirs = (graph_network(T, sd, x, edge_index, edge_attr, u, batch, y) for T in (tg, torch))
    assert ours.pop() == theirs.pop()
    _compare(ours, theirs)


# ------------------------------------------------------------------------------------------------------------ NRI
def _encode_onehot(labels):
    classes = set(labels)
    classes_dict = {c: np.identity(len(classes))[i, :] for i, c in enumerate(classes)}
    labels_onehot = np.array(list(map(classes_dict.get, labels)), dtype=np.int32)
    return labels_onehot


def nri(T, sd, inputs, uniforms, hard):
    """ethanfetaya/NRI's MLPEncoder (factor graph: node2edge / edge2node by matmuls with the one-hot rel_rec /
    rel_send, MLPs of ELU, dropout and BatchNorm1d over (B * E, F) views, xavier_normal init and bias 0.1), its
    utils' gumbel_softmax (my_softmax by transpose + F.softmax, sample_gumbel of uniforms drawn in numpy here for
    torch.rand, hard: the argmax one-hot made by zero_().scatter_ and the straight-through y_hard - y_soft.data +
    y_soft), kl_categorical_uniform, and a decoder-free loss on the sampled edges; Adam + StepLR."""
    nn, F = T.nn, T.nn.functional
    Variable = T.autograd.Variable
    class MLP(nn.Module):
        """Two-layer fully-connected ELU net with batch norm."""
        def __init__(self, n_in, n_hid, n_out, do_prob=0.):
            super(MLP, self).__init__()
            self.fc1 = nn.Linear(n_in, n_hid)
            self.fc2 = nn.Linear(n_hid, n_out)
            self.bn = nn.BatchNorm1d(n_out)
            self.dropout_prob = do_prob
            self.init_weights()
        def init_weights(self):
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    nn.init.xavier_normal_(m.weight.data)
                    m.bias.data.fill_(0.1)
                elif isinstance(m, nn.BatchNorm1d):
                    m.weight.data.fill_(1)
                    m.bias.data.zero_()
        def batch_norm(self, inputs):
            x = inputs.view(inputs.size(0) * inputs.size(1), -1)
            x = self.bn(x)
            return x.view(inputs.size(0), inputs.size(1), -1)
        def forward(self, inputs):
            # Input shape: [num_sims, num_things, num_features]
            x = F.elu(self.fc1(inputs))
            x = F.dropout(x, self.dropout_prob, training=self.training)
            x = F.elu(self.fc2(x))
            return self.batch_norm(x)
    class MLPEncoder(nn.Module):
        def __init__(self, n_in, n_hid, n_out, do_prob=0., factor=True):
            super(MLPEncoder, self).__init__()
            self.factor = factor
            self.mlp1 = MLP(n_in, n_hid, n_hid, do_prob)
            self.mlp2 = MLP(n_hid * 2, n_hid, n_hid, do_prob)
            self.mlp3 = MLP(n_hid, n_hid, n_hid, do_prob)
            if self.factor:
                self.mlp4 = MLP(n_hid * 3, n_hid, n_hid, do_prob)
            else:
                self.mlp4 = MLP(n_hid * 2, n_hid, n_hid, do_prob)
            self.fc_out = nn.Linear(n_hid, n_out)
            self.init_weights()
        def init_weights(self):
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    nn.init.xavier_normal_(m.weight.data)
                    m.bias.data.fill_(0.1)
        def edge2node(self, x, rel_rec, rel_send):
            # NOTE: Assumes that we have the same graph across all samples.
            incoming = T.matmul(rel_rec.t(), x)
            return incoming / incoming.size(1)
        def node2edge(self, x, rel_rec, rel_send):
            # NOTE: Assumes that we have the same graph across all samples.
            receivers = T.matmul(rel_rec, x)
            senders = T.matmul(rel_send, x)
            edges = T.cat([senders, receivers], dim=2)
            return edges
        def forward(self, inputs, rel_rec, rel_send):
            # Input shape: [num_sims, num_atoms, num_timesteps, num_dims]
            x = inputs.view(inputs.size(0), inputs.size(1), -1)
            # New shape: [num_sims, num_atoms, num_timesteps*num_dims]
            x = self.mlp1(x)  # 2-layer ELU net per node
            x = self.node2edge(x, rel_rec, rel_send)
            x = self.mlp2(x)
            x_skip = x
            if self.factor:
                x = self.edge2node(x, rel_rec, rel_send)
                x = self.mlp3(x)
                x = self.node2edge(x, rel_rec, rel_send)
                x = T.cat((x, x_skip), dim=2)  # Skip connection
                x = self.mlp4(x)
            else:
                x = self.mlp3(x)
                x = T.cat((x, x_skip), dim=2)  # Skip connection
                x = self.mlp4(x)
            return self.fc_out(x)
    def my_softmax(input, axis=1):
        trans_input = input.transpose(axis, 0).contiguous()
        soft_max_1d = F.softmax(trans_input, dim=0)
        return soft_max_1d.transpose(axis, 0)
    def sample_gumbel(shape, eps=1e-10, step=[0]):
        U = T.tensor(uniforms[step[0]])  # (torch.rand(shape).float(), drawn in numpy)
        step[0] += 1
        return - T.log(eps - T.log(U + eps))
    def gumbel_softmax_sample(logits, tau=1, eps=1e-10):
        gumbel_noise = sample_gumbel(logits.size(), eps=eps)
        if logits.is_cuda:
            gumbel_noise = gumbel_noise.cuda()
        y = logits + Variable(gumbel_noise)
        return my_softmax(y / tau, axis=-1)
    def gumbel_softmax(logits, tau=1, hard=False, eps=1e-10):
        y_soft = gumbel_softmax_sample(logits, tau=tau, eps=eps)
        if hard:
            shape = logits.size()
            _, k = y_soft.data.max(-1)
            y_hard = T.zeros(*shape)
            if y_soft.is_cuda:
                y_hard = y_hard.cuda()
            y_hard = y_hard.zero_().scatter_(-1, k.view(shape[:-1] + (1,)), 1.0)
            y = Variable(y_hard - y_soft.data) + y_soft
        else:
            y = y_soft
        return y
    def kl_categorical_uniform(preds, num_atoms, num_edge_types, add_const=False, eps=1e-16):
        kl_div = preds * T.log(preds + eps)
        if add_const:
            kl_div += np.log(num_edge_types)
        return kl_div.sum() / (num_atoms * preds.size(0))
    num_atoms, edge_types = inputs.shape[1], 2
    off_diag = np.ones([num_atoms, num_atoms]) - np.eye(num_atoms)
    rel_rec = np.array(_encode_onehot(np.where(off_diag)[0]), dtype=np.float32)
    rel_send = np.array(_encode_onehot(np.where(off_diag)[1]), dtype=np.float32)
    rel_rec = T.FloatTensor(rel_rec).double()
    rel_send = T.FloatTensor(rel_send).double()
    rel_rec, rel_send = Variable(rel_rec), Variable(rel_send)
    encoder = MLPEncoder(inputs.shape[2] * inputs.shape[3], 6, edge_types, 0., True)
    if sd is None:
        return _state(encoder)
    _load(T, encoder, sd)
    optimizer = T.optim.Adam(encoder.parameters(), lr=0.0005)
    scheduler = T.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    target = T.tensor(np.linspace(-1, 1, num_atoms * (num_atoms - 1)))
    out = []
    encoder.train()
    for step in range(3):
        optimizer.zero_grad()
        data = Variable(T.tensor(inputs))
        logits = encoder(data, rel_rec, rel_send)
        edges = gumbel_softmax(logits, tau=0.5, hard=hard)
        prob = my_softmax(logits, -1)
        loss_kl = kl_categorical_uniform(prob, num_atoms, edge_types)
        loss_fit = ((edges[:, :, 1] - target) ** 2).mean()  # (a stand-in for the decoder's nll_gaussian)
        loss = loss_fit + loss_kl
        loss.backward()
        optimizer.step()
        scheduler.step()
        out += [logits, edges, loss_kl, loss, _all_grads(encoder)]
    return out + [_state(encoder)]


@pytest.mark.parametrize("hard", [True, False])
def test_nri_encoder_straight_through_gumbel(torch, hard):
    rng = _rng(11)
    inputs = rng.standard_normal((3, 4, 5, 2))  # (sims, atoms, timesteps, dims)
    uniforms = rng.random((3, 3, 12, 2))
    sd = nri(torch, None, inputs, uniforms, hard)
    _compare(nri(tg, sd, inputs, uniforms, hard), nri(torch, sd, inputs, uniforms, hard))


@pytest.mark.parametrize("hard", [True, False])
def test_gumbel_softmax_properties(torch, hard):
    """F.gumbel_softmax draws its own noise, so not its values but its properties are torch's: hard=True gives
    one-hots along dim (the argmax of the soft sample) with the soft sample's straight-through gradient,
    hard=False a softmax (rows sum to 1); the gradient sums to zero along dim either way, and the result's dtype,
    shape and requires_grad are torch's."""
    rng = _rng(12)
    logits_np = rng.standard_normal((5, 4, 3))
    w = rng.standard_normal((5, 4, 3))
    for T in (tg, torch):
        logits = T.tensor(logits_np, requires_grad=True)
        T.manual_seed(1)
        y = T.nn.functional.gumbel_softmax(logits, tau=0.7, hard=hard, dim=1)
        assert y.shape == (5, 4, 3) and y.dtype == T.float64 and y.requires_grad
        yn = y.detach().numpy()
        np.testing.assert_allclose(yn.sum(1), 1, atol=1e-12)
        if hard:
            assert set(np.unique(yn)) <= {0., 1.}
        (y * T.tensor(w)).sum().backward()
        g = logits.grad.numpy()
        assert np.abs(g).max() > 0
        np.testing.assert_allclose(g.sum(1), 0, atol=1e-12)
        if hard:  # (straight-through: the soft sample's softmax gradient, that sample recovered from the output)
            T.manual_seed(1)
            logits2 = T.tensor(logits_np, requires_grad=True)
            soft = T.nn.functional.gumbel_softmax(logits2, tau=0.7, hard=False, dim=1)
            np.testing.assert_array_equal(soft.detach().numpy().argmax(1), yn.argmax(1))
            (soft * T.tensor(w)).sum().backward()
            np.testing.assert_allclose(g, logits2.grad.numpy(), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------------------------------------- SchNet
def schnet(T, sd, z, pos, batch, energy, forces):
    """SchNet (Schütt et al.) as PyG's models/schnet.py writes it, without torch_cluster: an atom-type Embedding,
    the radius graph from torch.cdist (same molecule, closer than the cutoff, no self loops: fill_diagonal_,
    nonzero), distances by norm, GaussianSmearing (a linspace buffer), the cosine cutoff, CFConv's filter network
    times the cutoff, messages x_j * W summed by index_add_, ShiftedSoftplus, residual interactions, a sum per
    molecule; trained on energies and forces (-d energy / d pos by autograd.grad with create_graph=True, so the
    loss's gradient goes through a second backward); Adam, ExponentialLR."""
    nn, F = T.nn, T.nn.functional
    PI = math.pi
    class GaussianSmearing(nn.Module):
        def __init__(self, start=0.0, stop=5.0, num_gaussians=50):
            super().__init__()
            offset = T.linspace(start, stop, num_gaussians)
            self.coeff = -0.5 / (offset[1] - offset[0]).item()**2
            self.register_buffer('offset', offset)
        def forward(self, dist):
            dist = dist.view(-1, 1) - self.offset.view(1, -1)
            return T.exp(self.coeff * T.pow(dist, 2))
    class ShiftedSoftplus(nn.Module):
        def __init__(self):
            super().__init__()
            self.shift = T.log(T.tensor(2.0)).item()
        def forward(self, x):
            return F.softplus(x) - self.shift
    class CFConv(nn.Module):
        def __init__(self, in_channels, out_channels, num_filters, nn_, cutoff):
            super().__init__()
            self.lin1 = nn.Linear(in_channels, num_filters, bias=False)
            self.lin2 = nn.Linear(num_filters, out_channels)
            self.nn = nn_
            self.cutoff = cutoff
            self.reset_parameters()
        def reset_parameters(self):
            nn.init.xavier_uniform_(self.lin1.weight)
            nn.init.xavier_uniform_(self.lin2.weight)
            self.lin2.bias.data.fill_(0)
        def forward(self, x, edge_index, edge_weight, edge_attr):
            C = 0.5 * (T.cos(edge_weight * PI / self.cutoff) + 1.0)
            W = self.nn(edge_attr) * C.view(-1, 1)
            x = self.lin1(x)
            x_j = x.index_select(0, edge_index[0])
            x = T.zeros_like(x).index_add_(0, edge_index[1], x_j * W)
            x = self.lin2(x)
            return x
    class InteractionBlock(nn.Module):
        def __init__(self, hidden_channels, num_gaussians, num_filters, cutoff):
            super().__init__()
            self.mlp = nn.Sequential(nn.Linear(num_gaussians, num_filters), ShiftedSoftplus(),
                                     nn.Linear(num_filters, num_filters))
            self.conv = CFConv(hidden_channels, hidden_channels, num_filters, self.mlp, cutoff)
            self.act = ShiftedSoftplus()
            self.lin = nn.Linear(hidden_channels, hidden_channels)
        def forward(self, x, edge_index, edge_weight, edge_attr):
            x = self.conv(x, edge_index, edge_weight, edge_attr)
            x = self.act(x)
            x = self.lin(x)
            return x
    def radius_graph(pos, r, batch):
        dist = T.cdist(pos, pos)
        mask = (batch.view(-1, 1) == batch.view(1, -1)) & (dist < r)
        mask.fill_diagonal_(False)
        return mask.nonzero().t()
    class SchNet(nn.Module):
        def __init__(self, hidden_channels=6, num_filters=6, num_interactions=2, num_gaussians=8, cutoff=2.5):
            super().__init__()
            self.cutoff = cutoff
            self.embedding = nn.Embedding(100, hidden_channels, padding_idx=0)
            self.distance_expansion = GaussianSmearing(0.0, cutoff, num_gaussians)
            self.interactions = nn.ModuleList([InteractionBlock(hidden_channels, num_gaussians, num_filters, cutoff)
                                               for _ in range(num_interactions)])
            self.lin1 = nn.Linear(hidden_channels, hidden_channels // 2)
            self.act = ShiftedSoftplus()
            self.lin2 = nn.Linear(hidden_channels // 2, 1)
        def forward(self, z, pos, batch):
            h = self.embedding(z)
            edge_index = radius_graph(pos, r=self.cutoff, batch=batch)
            row, col = edge_index
            edge_weight = (pos[row] - pos[col]).norm(dim=-1)
            edge_attr = self.distance_expansion(edge_weight)
            for interaction in self.interactions:
                h = h + interaction(h, edge_index, edge_weight, edge_attr)
            h = self.lin1(h)
            h = self.act(h)
            h = self.lin2(h)
            out = h.new_zeros(int(batch.max()) + 1, 1).index_add_(0, batch, h)
            return out, edge_index
    model = SchNet()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    z, batch, energy, forces = T.tensor(z), T.tensor(batch), T.tensor(energy), T.tensor(forces)
    optimizer = T.optim.Adam(model.parameters(), lr=1e-3)
    scheduler = T.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
    out = []
    for step in range(3):
        optimizer.zero_grad()
        p = T.tensor(pos, requires_grad=True)
        pred, edge_index = model(z, p, batch)
        pred_forces = -T.autograd.grad(pred.sum(), p, create_graph=True)[0]
        loss = F.l1_loss(pred.view(-1), energy) + 10 * F.mse_loss(pred_forces, forces)
        loss.backward()
        optimizer.step()
        scheduler.step()
        out += [edge_index, pred, pred_forces, loss, _all_grads(model)]
    return out + [_state(model)]


def test_schnet_cfconv_with_force_training(torch):
    rng = _rng(13)
    batch = np.repeat([0, 1], [4, 5])
    z = rng.integers(1, 9, len(batch))
    pos = rng.uniform(0, 2.5, (len(batch), 3))
    energy, forces = rng.standard_normal(2), rng.standard_normal((len(batch), 3)) * 0.1
    sd = schnet(torch, None, z, pos, batch, energy, forces)
    _compare(schnet(tg, sd, z, pos, batch, energy, forces), schnet(torch, sd, z, pos, batch, energy, forces))


# ------------------------------------------------------------------------------------------------------ Graphormer
def _floyd_warshall(adj, max_dist):
    """Graphormer's algos.floyd_warshall (in numpy): shortest path lengths, unreachable and far pairs clipped to
    max_dist, +1 so 0 stays the padding's index (the collator's shift)."""
    n = adj.shape[0]
    d = np.where(adj > 0, 1, 510)
    np.fill_diagonal(d, 0)
    for k in range(n):
        d = np.minimum(d, d[:, k:k + 1] + d[k:k + 1, :])
    return np.minimum(d, max_dist) + 1


def graphormer(T, sd, x, spatial_pos, in_degree, out_degree, y, num_heads=2):
    """Graphormer-lite (microsoft/Graphormer's graphormer_layers): atom embeddings summed over features plus in /
    out degree embeddings (padding_idx=0), a graph token, the attention bias: a spatial_pos Embedding per head
    (shortest paths from numpy), the graph token's virtual distance, padding columns at -inf; pre-LN encoder
    layers with its own multi-head attention (q scaled, attn_bias added, masked_fill for key padding, softmax,
    dropout off); the graph token's state to a regression head; L1 loss, AdamW with a PolynomialLR decay."""
    nn, F = T.nn, T.nn.functional
    def init_params(module, n_layers):
        if isinstance(module, nn.Linear):
            module.weight.data.normal_(mean=0.0, std=0.02 / math.sqrt(n_layers))
            if module.bias is not None:
                module.bias.data.zero_()
        if isinstance(module, nn.Embedding):
            module.weight.data.normal_(mean=0.0, std=0.02)
    class GraphNodeFeature(nn.Module):
        def __init__(self, num_heads, num_atoms, num_in_degree, num_out_degree, hidden_dim, n_layers):
            super(GraphNodeFeature, self).__init__()
            self.num_heads = num_heads
            self.atom_encoder = nn.Embedding(num_atoms + 1, hidden_dim, padding_idx=0)
            self.in_degree_encoder = nn.Embedding(num_in_degree, hidden_dim, padding_idx=0)
            self.out_degree_encoder = nn.Embedding(num_out_degree, hidden_dim, padding_idx=0)
            self.graph_token = nn.Embedding(1, hidden_dim)
            self.apply(lambda module: init_params(module, n_layers=n_layers))
        def forward(self, x, in_degree, out_degree):
            n_graph, n_node = x.size()[:2]
            node_feature = self.atom_encoder(x).sum(dim=-2)  # [n_graph, n_node, n_hidden]
            node_feature = (node_feature + self.in_degree_encoder(in_degree) + self.out_degree_encoder(out_degree))
            graph_token_feature = self.graph_token.weight.unsqueeze(0).repeat(n_graph, 1, 1)
            graph_node_feature = T.cat([graph_token_feature, node_feature], dim=1)
            return graph_node_feature
    class GraphAttnBias(nn.Module):
        def __init__(self, num_heads, num_spatial, n_layers):
            super(GraphAttnBias, self).__init__()
            self.num_heads = num_heads
            self.spatial_pos_encoder = nn.Embedding(num_spatial, num_heads, padding_idx=0)
            self.graph_token_virtual_distance = nn.Embedding(1, num_heads)
            self.apply(lambda module: init_params(module, n_layers=n_layers))
        def forward(self, attn_bias, spatial_pos):
            n_graph, n_node = spatial_pos.size()[:2]
            graph_attn_bias = attn_bias.clone()
            graph_attn_bias = graph_attn_bias.unsqueeze(1).repeat(1, self.num_heads, 1, 1)
            # spatial pos: [n_graph, n_node, n_node, n_head] -> [n_graph, n_head, n_node, n_node]
            spatial_pos_bias = self.spatial_pos_encoder(spatial_pos).permute(0, 3, 1, 2)
            graph_attn_bias[:, :, 1:, 1:] = graph_attn_bias[:, :, 1:, 1:] + spatial_pos_bias
            t = self.graph_token_virtual_distance.weight.view(1, self.num_heads, 1)
            graph_attn_bias[:, :, 1:, 0] = graph_attn_bias[:, :, 1:, 0] + t
            graph_attn_bias[:, :, 0, :] = graph_attn_bias[:, :, 0, :] + t
            graph_attn_bias = graph_attn_bias + attn_bias.unsqueeze(1)  # reset
            return graph_attn_bias
    class MultiheadAttention(nn.Module):
        def __init__(self, embed_dim, num_heads):
            super().__init__()
            self.embed_dim, self.num_heads = embed_dim, num_heads
            self.head_dim = embed_dim // num_heads
            self.scaling = self.head_dim ** -0.5
            self.k_proj = nn.Linear(embed_dim, embed_dim)
            self.v_proj = nn.Linear(embed_dim, embed_dim)
            self.q_proj = nn.Linear(embed_dim, embed_dim)
            self.out_proj = nn.Linear(embed_dim, embed_dim)
            nn.init.xavier_uniform_(self.k_proj.weight, gain=1 / math.sqrt(2))
            nn.init.xavier_uniform_(self.v_proj.weight, gain=1 / math.sqrt(2))
            nn.init.xavier_uniform_(self.q_proj.weight, gain=1 / math.sqrt(2))
            nn.init.xavier_uniform_(self.out_proj.weight)
            nn.init.constant_(self.out_proj.bias, 0.0)
        def forward(self, query, attn_bias, key_padding_mask):
            tgt_len, bsz, embed_dim = query.size()
            q = self.q_proj(query) * self.scaling
            k = self.k_proj(query)
            v = self.v_proj(query)
            q = q.contiguous().view(tgt_len, bsz * self.num_heads, self.head_dim).transpose(0, 1)
            k = k.contiguous().view(-1, bsz * self.num_heads, self.head_dim).transpose(0, 1)
            v = v.contiguous().view(-1, bsz * self.num_heads, self.head_dim).transpose(0, 1)
            src_len = k.size(1)
            attn_weights = T.bmm(q, k.transpose(1, 2))
            attn_weights = attn_weights + attn_bias.view(bsz * self.num_heads, tgt_len, src_len)
            attn_weights = attn_weights.view(bsz, self.num_heads, tgt_len, src_len)
            attn_weights = attn_weights.masked_fill(key_padding_mask.unsqueeze(1).unsqueeze(2).to(T.bool),
                                                    float("-inf"))
            attn_weights = attn_weights.view(bsz * self.num_heads, tgt_len, src_len)
            attn_probs = F.dropout(F.softmax(attn_weights, dim=-1), p=0.1, training=False)
            attn = T.bmm(attn_probs, v)
            attn = attn.transpose(0, 1).contiguous().view(tgt_len, bsz, embed_dim)
            return self.out_proj(attn), attn_probs
    class EncoderLayer(nn.Module):
        def __init__(self, dim, num_heads):
            super().__init__()
            self.self_attn = MultiheadAttention(dim, num_heads)
            self.self_attn_layer_norm = nn.LayerNorm(dim)
            self.fc1, self.fc2 = nn.Linear(dim, 2 * dim), nn.Linear(2 * dim, dim)
            self.final_layer_norm = nn.LayerNorm(dim)
        def forward(self, x, attn_bias, padding_mask):
            residual = x
            x = self.self_attn_layer_norm(x)
            x, attn = self.self_attn(x, attn_bias, padding_mask)
            x = residual + x
            residual = x
            x = self.final_layer_norm(x)
            x = self.fc2(F.gelu(self.fc1(x)))
            return residual + x, attn
    dim, n_layers = 8, 2
    class Graphormer(nn.Module):
        def __init__(self):
            super().__init__()
            self.graph_node_feature = GraphNodeFeature(num_heads, 10, 6, 6, dim, n_layers)
            self.graph_attn_bias = GraphAttnBias(num_heads, 6, n_layers)
            self.layers = nn.ModuleList([EncoderLayer(dim, num_heads) for _ in range(n_layers)])
            self.head = nn.Linear(dim, 1)
        def forward(self, x, spatial_pos, in_degree, out_degree):
            n_graph, n_node = x.size()[:2]
            padding_mask = (x[:, :, 0]).eq(0)  # B x T x 1
            padding_mask_cls = T.zeros(n_graph, 1, device=padding_mask.device, dtype=padding_mask.dtype)
            padding_mask = T.cat((padding_mask_cls, padding_mask), dim=1)
            attn_bias = T.zeros(n_graph, n_node + 1, n_node + 1)
            h = self.graph_node_feature(x, in_degree, out_degree).transpose(0, 1)
            bias = self.graph_attn_bias(attn_bias, spatial_pos)
            attns = []
            for layer in self.layers:
                h, attn = layer(h, bias, padding_mask)
                attns.append(attn)
            return self.head(h[0]).squeeze(-1), attns
    model = Graphormer()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01)
    scheduler = T.optim.lr_scheduler.PolynomialLR(optimizer, total_iters=5, power=1.0)
    x, spatial_pos, in_degree, out_degree, y = (T.tensor(a) for a in (x, spatial_pos, in_degree, out_degree, y))
    out = []
    for step in range(3):
        optimizer.zero_grad()
        pred, attns = model(x, spatial_pos, in_degree, out_degree)
        loss = F.l1_loss(pred, y)
        loss.backward()
        optimizer.step()
        scheduler.step()
        out += [pred, attns, loss, _all_grads(model)]
    return out + [_state(model)]


def test_graphormer_spatial_bias_and_degree_embeddings(torch):
    rng = _rng(14)
    sizes, n = [5, 3, 4], 5
    edge_index, batch = _random_graphs(rng, sizes, p=0.3)
    x = np.zeros((3, n, 2), dtype=np.int64)
    spatial = np.zeros((3, n, n), dtype=np.int64)
    deg = np.zeros((3, n), dtype=np.int64)
    start = 0
    for g, k in enumerate(sizes):
        adj = np.zeros((k, k))
        sel = batch[edge_index[0]] == g
        adj[edge_index[0][sel] - start, edge_index[1][sel] - start] = 1
        x[g, :k] = rng.integers(1, 11, (k, 2))
        spatial[g, :k, :k] = _floyd_warshall(adj, 4)
        deg[g, :k] = adj.sum(1) + 1
        start += k
    y = rng.standard_normal(3)
    sd = graphormer(torch, None, x, spatial, deg, deg, y)
    _compare(graphormer(tg, sd, x, spatial, deg, deg, y), graphormer(torch, sd, x, spatial, deg, deg, y))


# ----------------------------------------------------------------------------------------- APPNP, PageRank, bmm
def appnp(T, sd, x, edge_index, y, train_idx, batched):
    """APPNP (Klicpera et al., predict then propagate) with learnt edge weights, on torch.sparse: an edge MLP on
    the endpoint features gives each edge a weight (sparse_coo_tensor values that require grad), the weighted
    degree by torch.sparse.sum, the symmetrically normalised A_hat of coalesce()'d indices / values, K power
    steps Z = (1 - alpha) A_hat Z + alpha H by torch.sparse.mm, and personalized PageRank scores by torch.mv;
    ``batched``: a (2, N, N) sparse batch of it and another through torch.bmm. Adam. (Values are read by
    values() of the coalesced tensor or kept: torch's _values() is not differentiable.)"""
    nn, F = T.nn, T.nn.functional
    class APPNPNet(nn.Module):
        def __init__(self, nfeat, nhid, nclass, K=4, alpha=0.1):
            super().__init__()
            self.lin1, self.lin2 = nn.Linear(nfeat, nhid), nn.Linear(nhid, nclass)
            self.edge_mlp = nn.Sequential(nn.Linear(2 * nfeat, 4), nn.Tanh(), nn.Linear(4, 1))
            self.K, self.alpha = K, alpha
        def normalized_adj(self, x, edge_index):
            N = x.size(0)
            w = T.sigmoid(self.edge_mlp(T.cat([x[edge_index[0]], x[edge_index[1]]], dim=-1))).squeeze(-1)
            A = T.sparse_coo_tensor(edge_index, w, (N, N)).coalesce()
            deg = T.sparse.sum(A, dim=1).to_dense() + 1.
            dinv = deg.pow(-0.5)
            row, col = A.indices()
            values = dinv[row] * A.values() * dinv[col]
            return T.sparse_coo_tensor(A.indices(), values, (N, N)), A.indices(), values
        def forward(self, x, edge_index):
            h = self.lin2(F.relu(self.lin1(x)))
            A_hat, i, values = self.normalized_adj(x, edge_index)
            if batched:
                idx = T.cat([T.cat([T.zeros_like(i[:1]), i], 0), T.cat([T.ones_like(i[:1]), i], 0)], 1)
                A2 = T.sparse_coo_tensor(idx, T.cat([values, values.flip(0)]), (2,) + tuple(A_hat.shape))
            z = h
            for _ in range(self.K):
                if batched:
                    z = (1 - self.alpha) * T.bmm(A2, T.stack([z, z.flip(0)]))[0] + self.alpha * h
                else:
                    z = (1 - self.alpha) * T.sparse.mm(A_hat, z) + self.alpha * h
            ppr = T.ones(x.size(0)) / x.size(0)
            for _ in range(3):
                ppr = (1 - self.alpha) * T.mv(A_hat, ppr) + self.alpha / x.size(0)
            return F.log_softmax(z, dim=1), ppr
    model = APPNPNet(x.shape[1], 6, 3)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    x, edge_index, y, train_idx = T.tensor(x), T.tensor(edge_index), T.tensor(y), T.tensor(train_idx)
    optimizer = T.optim.Adam(model.parameters(), lr=0.01)
    out = []
    for step in range(3):
        optimizer.zero_grad()
        logp, ppr = model(x, edge_index)
        loss = F.nll_loss(logp[train_idx], y[train_idx]) + (ppr ** 2).sum()
        loss.backward()
        optimizer.step()
        out += [logp, ppr, loss, _all_grads(model)]
    return out + [_state(model)]


@pytest.mark.parametrize("batched", [False, True])
def test_appnp_learnt_edge_weights_sparse_sum_mm_mv_bmm(torch, batched):
    rng = _rng(15)
    edge_index, _ = _random_graphs(rng, [10], p=0.25)
    edge_index = np.concatenate([edge_index, edge_index[:, :3]], 1)  # (repeated edges: coalesce adds them)
    x, y = rng.standard_normal((10, 4)), rng.integers(0, 3, 10)
    train_idx = np.arange(0, 10, 2)
    sd = appnp(torch, None, x, edge_index, y, train_idx, batched)
    _compare(appnp(tg, sd, x, edge_index, y, train_idx, batched),
             appnp(torch, sd, x, edge_index, y, train_idx, batched))


# ------------------------------------------------------------------------------------------------ VGAE, DiffPool
def vgae(T, sd, features, coo, adj_label, eps):
    """zfjsail/gae-pytorch's VGAE (Kipf & Welling): GraphConvolution layers (F.dropout with p=0, torch.mm then
    torch.spmm on the symmetrically normalised sparse adjacency from preprocess_graph, xavier_uniform_ weights),
    mu / logvar heads, reparameterize with eps (torch.randn_like's draw, from numpy: eps.mul(std).add_(mu)), the
    InnerProductDecoder z z^T, norm * binary_cross_entropy_with_logits(pos_weight=) + the KL term; Adam."""
    nn, F = T.nn, T.nn.functional
    class GraphConvolution(nn.Module):
        def __init__(self, in_features, out_features, dropout=0., act=F.relu):
            super(GraphConvolution, self).__init__()
            self.in_features = in_features
            self.out_features = out_features
            self.dropout = dropout
            self.act = act
            self.weight = nn.Parameter(T.DoubleTensor(in_features, out_features))
            self.reset_parameters()
        def reset_parameters(self):
            T.nn.init.xavier_uniform_(self.weight)
        def forward(self, input, adj):
            input = F.dropout(input, self.dropout, self.training)
            support = T.mm(input, self.weight)
            output = T.spmm(adj, support)
            output = self.act(output)
            return output
    class InnerProductDecoder(nn.Module):
        def __init__(self, dropout, act=T.sigmoid):
            super(InnerProductDecoder, self).__init__()
            self.dropout = dropout
            self.act = act
        def forward(self, z):
            z = F.dropout(z, self.dropout, training=self.training)
            adj = self.act(T.mm(z, z.t()))
            return adj
    class GCNModelVAE(nn.Module):
        def __init__(self, input_feat_dim, hidden_dim1, hidden_dim2, dropout):
            super(GCNModelVAE, self).__init__()
            self.gc1 = GraphConvolution(input_feat_dim, hidden_dim1, dropout, act=F.relu)
            self.gc2 = GraphConvolution(hidden_dim1, hidden_dim2, dropout, act=lambda x: x)
            self.gc3 = GraphConvolution(hidden_dim1, hidden_dim2, dropout, act=lambda x: x)
            self.dc = InnerProductDecoder(dropout, act=lambda x: x)
        def encode(self, x, adj):
            hidden1 = self.gc1(x, adj)
            return self.gc2(hidden1, adj), self.gc3(hidden1, adj)
        def reparameterize(self, mu, logvar, eps):
            if self.training:
                std = T.exp(logvar)
                return eps.mul(std).add_(mu)
            else:
                return mu
        def forward(self, x, adj, eps=None):
            mu, logvar = self.encode(x, adj)
            z = self.reparameterize(mu, logvar, eps)
            return self.dc(z), mu, logvar
    def loss_function(preds, labels, mu, logvar, n_nodes, norm, pos_weight):
        cost = norm * F.binary_cross_entropy_with_logits(preds, labels, pos_weight=pos_weight)
        KLD = -0.5 / n_nodes * T.mean(T.sum(1 + 2 * logvar - mu.pow(2) - logvar.exp().pow(2), 1))
        return cost + KLD
    n_nodes, feat_dim = features.shape
    model = GCNModelVAE(feat_dim, 6, 3, 0.)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    row, col, data = coo
    adj_norm = T.sparse.DoubleTensor(T.from_numpy(np.vstack((row, col)).astype(np.int64)), T.from_numpy(data),
                                     T.Size((n_nodes, n_nodes)))
    pos_weight = T.tensor(float(n_nodes * n_nodes - adj_label.sum()) / adj_label.sum())
    norm = n_nodes * n_nodes / float((n_nodes * n_nodes - adj_label.sum()) * 2)
    features, adj_label = T.DoubleTensor(features), T.DoubleTensor(adj_label)
    optimizer = T.optim.Adam(model.parameters(), lr=0.01)
    out = []
    for epoch in range(3):
        model.train()
        optimizer.zero_grad()
        recovered, mu, logvar = model(features, adj_norm, T.tensor(eps[epoch]))
        loss = loss_function(preds=recovered, labels=adj_label, mu=mu, logvar=logvar, n_nodes=n_nodes, norm=norm,
                             pos_weight=pos_weight)
        loss.backward()
        cur_loss = loss.item()
        optimizer.step()
        hidden_emb = mu.data.numpy()
        out += [recovered, cur_loss, hidden_emb, _all_grads(model)]
    model.eval()
    return out + [model(features, adj_norm)[0], _state(model)]


def test_vgae_sparse_gcn_encoder_inner_product_decoder(torch):
    rng = _rng(16)
    n = 9
    edge_index, _ = _random_graphs(rng, [n], p=0.3)
    adj = np.zeros((n, n))
    adj[edge_index[0], edge_index[1]] = 1
    adj_ = adj + np.eye(n)  # (preprocess_graph: D^-1/2 (A + I) D^-1/2, as a coo)
    d = np.power(adj_.sum(1), -0.5)
    adj_normalized = d[:, None] * adj_ * d[None, :]
    row, col = np.nonzero(adj_normalized)
    features = np.eye(n)  # (featureless: the identity, as the repository's --dataset without features)
    eps = rng.standard_normal((3, n, 3))
    sd = vgae(torch, None, features, (row, col, adj_normalized[row, col]), adj_, eps)
    _compare(vgae(tg, sd, features, (row, col, adj_normalized[row, col]), adj_, eps),
             vgae(torch, sd, features, (row, col, adj_normalized[row, col]), adj_, eps))


def diffpool(T, sd, x, adj, mask, y):
    """DiffPool (Ying et al.) as PyG's dense_diff_pool and DenseSAGEConv write it, on padded dense batches: a
    DenseSAGEConv (adj @ x over the clamped degree, L2-normalised) for embeddings and one for the assignment
    logits, s softmaxed, x and s masked, out = s^T x, out_adj = s^T adj s (transpose / matmul), the link loss
    ||adj - s s^T|| / numel and the entropy loss, a second level, mean over clusters, cross_entropy; Adam."""
    nn, F = T.nn, T.nn.functional
    EPS = 1e-15
    class DenseSAGEConv(nn.Module):
        def __init__(self, in_channels, out_channels, normalize=False):
            super().__init__()
            self.normalize = normalize
            self.lin_rel = nn.Linear(in_channels, out_channels, bias=False)
            self.lin_root = nn.Linear(in_channels, out_channels, bias=True)
        def forward(self, x, adj, mask=None):
            x = x.unsqueeze(0) if x.dim() == 2 else x
            adj = adj.unsqueeze(0) if adj.dim() == 2 else adj
            B, N, _ = adj.size()
            out = T.matmul(adj, x)
            out = out / adj.sum(dim=-1, keepdim=True).clamp(min=1)
            out = self.lin_rel(out) + self.lin_root(x)
            if self.normalize:
                out = F.normalize(out, p=2.0, dim=-1)
            if mask is not None:
                out = out * mask.view(B, N, 1).to(x.dtype)
            return out
    def dense_diff_pool(x, adj, s, mask=None, normalize=True):
        x = x.unsqueeze(0) if x.dim() == 2 else x
        adj = adj.unsqueeze(0) if adj.dim() == 2 else adj
        s = s.unsqueeze(0) if s.dim() == 2 else s
        batch_size, num_nodes, _ = x.size()
        s = T.softmax(s, dim=-1)
        if mask is not None:
            mask = mask.view(batch_size, num_nodes, 1).to(x.dtype)
            x, s = x * mask, s * mask
        out = T.matmul(s.transpose(1, 2), x)
        out_adj = T.matmul(T.matmul(s.transpose(1, 2), adj), s)
        link_loss = adj - T.matmul(s, s.transpose(1, 2))
        link_loss = T.norm(link_loss, p=2)
        if normalize is True:
            link_loss = link_loss / adj.numel()
        ent_loss = (-s * T.log(s + EPS)).sum(dim=-1).mean()
        return out, out_adj, link_loss, ent_loss
    class GNN(nn.Module):
        def __init__(self, in_channels, hidden_channels, out_channels):
            super().__init__()
            self.conv1 = DenseSAGEConv(in_channels, hidden_channels, normalize=True)
            self.bn1 = nn.BatchNorm1d(hidden_channels)
            self.conv2 = DenseSAGEConv(hidden_channels, out_channels, normalize=True)
        def bn(self, i, x):
            batch_size, num_nodes, num_channels = x.size()
            x = x.view(-1, num_channels)
            x = getattr(self, f'bn{i}')(x)
            x = x.view(batch_size, num_nodes, num_channels)
            return x
        def forward(self, x, adj, mask=None):
            x = self.bn(1, self.conv1(x, adj, mask).relu())
            x = self.conv2(x, adj, mask).relu()
            return x
    class Net(nn.Module):
        def __init__(self, num_features, num_classes, max_nodes):
            super().__init__()
            num_nodes = math.ceil(0.5 * max_nodes)
            self.gnn1_pool = GNN(num_features, 8, num_nodes)
            self.gnn1_embed = GNN(num_features, 8, 8)
            num_nodes = math.ceil(0.5 * num_nodes)
            self.gnn2_pool = GNN(8, 8, num_nodes)
            self.gnn2_embed = GNN(8, 8, 8)
            self.lin1 = nn.Linear(8, 8)
            self.lin2 = nn.Linear(8, num_classes)
        def forward(self, x, adj, mask=None):
            s = self.gnn1_pool(x, adj, mask)
            x = self.gnn1_embed(x, adj, mask)
            x, adj, l1, e1 = dense_diff_pool(x, adj, s, mask)
            s = self.gnn2_pool(x, adj)
            x = self.gnn2_embed(x, adj)
            x, adj, l2, e2 = dense_diff_pool(x, adj, s)
            x = x.mean(dim=1)
            x = self.lin1(x).relu()
            x = self.lin2(x)
            return F.log_softmax(x, dim=-1), l1 + l2, e1 + e2
    model = Net(x.shape[-1], 2, x.shape[1])
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.Adam(model.parameters(), lr=0.001)
    x, adj, mask, y = T.tensor(x), T.tensor(adj), T.tensor(mask), T.tensor(y)
    out = []
    model.train()
    for epoch in range(3):
        optimizer.zero_grad()
        output, link_loss, ent_loss = model(x, adj, mask)
        loss = F.nll_loss(output, y.view(-1)) + link_loss + ent_loss
        loss.backward()
        optimizer.step()
        out += [output, link_loss, ent_loss, loss, _all_grads(model)]
    return out + [_state(model)]


def test_diffpool_dense_batches(torch):
    rng = _rng(17)
    sizes, n = [6, 4, 5], 6
    edge_index, batch = _random_graphs(rng, sizes, p=0.4)
    x = np.zeros((3, n, 3))
    adj = np.zeros((3, n, n))
    mask = np.zeros((3, n), dtype=bool)
    start = 0
    for g, k in enumerate(sizes):
        sel = batch[edge_index[0]] == g
        adj[g, edge_index[0][sel] - start, edge_index[1][sel] - start] = 1
        x[g, :k] = rng.standard_normal((k, 3))
        mask[g, :k] = True
        start += k
    y = np.array([0, 1, 1])
    sd = diffpool(torch, None, x, adj, mask, y)
    _compare(diffpool(tg, sd, x, adj, mask, y), diffpool(torch, sd, x, adj, mask, y))


# -------------------------------------------------------------------------------------------- R-GCN, TopK pooling
def rgcn(T, sd, edge_index, edge_type, num_nodes, y, train_idx):
    """R-GCN (Schlichtkrull et al.) for entity classification, featureless (the first layer's input is the
    identity, so it indexes the weights): basis decomposition W_r = sum_b att[r, b] V_b (torch.matmul over the
    flattened bases), one sparse adjacency per relation (inverse relations added) with 1 / in-degree values from
    torch.sparse.sum of an all-ones sparse matrix, messages torch.sparse.mm(A_r, x W_r) summed with a self-loop
    weight, ReLU, L2 regularisation of the first layer's weights in the loss; Adam."""
    nn, F = T.nn, T.nn.functional
    class RGCNLayer(nn.Module):
        def __init__(self, in_dim, out_dim, num_rels, num_bases, featureless=False, bias=True):
            super().__init__()
            self.in_dim, self.out_dim, self.num_rels, self.num_bases = in_dim, out_dim, num_rels, num_bases
            self.featureless = featureless
            self.weight = nn.Parameter(T.Tensor(num_bases, in_dim, out_dim))
            self.w_comp = nn.Parameter(T.Tensor(num_rels, num_bases))
            self.loop_weight = nn.Parameter(T.Tensor(in_dim, out_dim))
            self.bias = nn.Parameter(T.Tensor(out_dim)) if bias else None
            nn.init.xavier_uniform_(self.weight, gain=nn.init.calculate_gain('relu'))
            nn.init.xavier_uniform_(self.w_comp, gain=nn.init.calculate_gain('relu'))
            nn.init.xavier_uniform_(self.loop_weight, gain=nn.init.calculate_gain('relu'))
            if self.bias is not None:
                nn.init.zeros_(self.bias)
        def forward(self, x, adjs):
            weight = self.weight.view(self.num_bases, self.in_dim * self.out_dim)
            weight = T.matmul(self.w_comp, weight).view(self.num_rels, self.in_dim, self.out_dim)
            out = self.loop_weight if self.featureless else T.mm(x, self.loop_weight)
            for r, A in enumerate(adjs):
                h = weight[r] if self.featureless else x @ weight[r]
                out = out + T.sparse.mm(A, h)
            if self.bias is not None:
                out = out + self.bias
            return out
    class RGCN(nn.Module):
        def __init__(self, num_nodes, h_dim, out_dim, num_rels, num_bases):
            super().__init__()
            self.layers = nn.ModuleList([RGCNLayer(num_nodes, h_dim, num_rels, num_bases, featureless=True),
                                         RGCNLayer(h_dim, out_dim, num_rels, num_bases)])
        def forward(self, adjs):
            x = None
            for i, layer in enumerate(self.layers):
                x = layer(x, adjs)
                if i < len(self.layers) - 1:
                    x = F.relu(x)
            return x
    num_rels = int(edge_type.max()) + 1
    model = RGCN(num_nodes, 5, int(y.max()) + 1, 2 * num_rels, 2)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    ei, et = T.tensor(edge_index), T.tensor(edge_type)
    adjs = []
    for r in range(num_rels):  # (the relation and its inverse)
        for idx in (ei[:, et == r], ei[:, et == r].flip(0)):
            ones = T.sparse_coo_tensor(idx, T.ones(idx.size(1)), (num_nodes, num_nodes))
            deg = T.sparse.sum(ones, dim=1).to_dense()
            adjs.append(T.sparse_coo_tensor(idx, 1. / deg[idx[0]], (num_nodes, num_nodes)).coalesce())
    optimizer = T.optim.Adam(model.parameters(), lr=0.01)
    y, train_idx = T.tensor(y), T.tensor(train_idx)
    out = [[a.to_dense() for a in adjs]]
    for epoch in range(3):
        optimizer.zero_grad()
        logits = model(adjs)
        loss = F.cross_entropy(logits[train_idx], y[train_idx])
        loss = loss + 5e-4 * model.layers[0].weight.pow(2).sum()
        loss.backward()
        optimizer.step()
        out += [logits, loss, _all_grads(model)]
    return out + [_state(model)]


def test_rgcn_basis_decomposition_sparse_relations(torch):
    rng = _rng(18)
    n = 10
    edge_index = rng.integers(0, n, (2, 24))
    edge_index = edge_index[:, edge_index[0] != edge_index[1]]
    edge_type = rng.integers(0, 3, edge_index.shape[1])
    y, train_idx = rng.integers(0, 3, n), np.arange(0, n, 2)
    sd = rgcn(torch, None, edge_index, edge_type, n, y, train_idx)
    _compare(rgcn(tg, sd, edge_index, edge_type, n, y, train_idx),
             rgcn(torch, sd, edge_index, edge_type, n, y, train_idx))


def graph_unet_topk(T, sd, x, edge_index, batch, y):
    """TopKPooling (Gao & Ji's gPool, PyG's TopKPooling / topk without torch_scatter) in a small Graph U-Net
    classifier: scores x p / ||p|| (tanh), per graph the top ceil(ratio n) nodes by a sort over (graph, -score)
    (a stable argsort of a composite key, as PyG's topk does), x[perm] * score[perm], the edges filtered and
    relabelled by an index map (filter_adj), a GCN-like mean conv, global max and mean pooling per graph
    (scatter_reduce 'amax' / index_add_), a readout summed over levels; Adam."""
    nn, F = T.nn, T.nn.functional
    def topk(score, ratio, batch):
        num_nodes = T.bincount(batch)
        k = (ratio * num_nodes.to(score.dtype)).ceil().to(T.long)
        order = T.argsort(batch.to(score.dtype) * 10 - T.tanh(score.detach()) - 1e-7 * T.arange(score.size(0)),
                          stable=True)  # (by graph, then score descending; ties by position)
        start = T.cat([num_nodes.new_zeros(1), num_nodes.cumsum(0)[:-1]])
        rank = T.arange(batch.size(0)) - start[batch[order]]
        return order[rank < k[batch[order]]]
    def filter_adj(edge_index, perm, num_nodes):
        mask = perm.new_full((num_nodes,), -1)
        mask[perm] = T.arange(perm.size(0))
        row, col = mask[edge_index[0]], mask[edge_index[1]]
        keep = (row >= 0) & (col >= 0)
        return T.stack([row[keep], col[keep]], dim=0)
    class TopKPooling(nn.Module):
        def __init__(self, in_channels, ratio=0.5):
            super().__init__()
            self.ratio = ratio
            self.weight = nn.Parameter(T.Tensor(1, in_channels))
            nn.init.uniform_(self.weight, -1 / math.sqrt(in_channels), 1 / math.sqrt(in_channels))
        def forward(self, x, edge_index, batch):
            score = (x * self.weight).sum(dim=-1)
            score = T.tanh(score / self.weight.norm(p=2, dim=-1))
            perm = topk(score, self.ratio, batch)
            x = x[perm] * score[perm].view(-1, 1)
            return x, filter_adj(edge_index, perm, score.size(0)), batch[perm], perm
    class MeanConv(nn.Module):
        def __init__(self, i, o):
            super().__init__()
            self.lin = nn.Linear(i, o)
        def forward(self, x, edge_index):
            agg = T.zeros_like(x).index_add_(0, edge_index[1], x[edge_index[0]])
            deg = T.zeros(x.size(0)).index_add_(0, edge_index[1], T.ones(edge_index.size(1))) + 1
            return self.lin((agg + x) / deg.unsqueeze(-1))
    def readout(x, batch, num_graphs):
        mx = x.new_zeros(num_graphs, x.size(1)).scatter_reduce(0, batch.unsqueeze(-1).expand_as(x), x, 'amax',
                                                                include_self=False)
        cnt = T.bincount(batch, minlength=num_graphs).clamp(min=1).to(x.dtype)
        mean = x.new_zeros(num_graphs, x.size(1)).index_add_(0, batch, x) / cnt.unsqueeze(-1)
        return T.cat([mx, mean], dim=1)
    class Net(nn.Module):
        def __init__(self, fin, hidden, classes):
            super().__init__()
            self.conv1, self.pool1 = MeanConv(fin, hidden), TopKPooling(hidden, 0.6)
            self.conv2, self.pool2 = MeanConv(hidden, hidden), TopKPooling(hidden, 0.6)
            self.lin = nn.Linear(2 * hidden, classes)
        def forward(self, x, edge_index, batch, num_graphs):
            x = F.relu(self.conv1(x, edge_index))
            x, edge_index, batch, perm1 = self.pool1(x, edge_index, batch)
            x1 = readout(x, batch, num_graphs)
            x = F.relu(self.conv2(x, edge_index))
            x, edge_index, batch, perm2 = self.pool2(x, edge_index, batch)
            x2 = readout(x, batch, num_graphs)
            return F.log_softmax(self.lin(x1 + x2), dim=-1), perm1, perm2, edge_index
    model = Net(x.shape[1], 6, 2)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    x, edge_index, batch, y = T.tensor(x), T.tensor(edge_index), T.tensor(batch), T.tensor(y)
    optimizer = T.optim.Adam(model.parameters(), lr=0.005)
    out = []
    for epoch in range(3):
        optimizer.zero_grad()
        output, perm1, perm2, ei = model(x, edge_index, batch, 3)
        loss = F.nll_loss(output, y)
        loss.backward()
        optimizer.step()
        out += [output, perm1, perm2, ei, loss, _all_grads(model)]
    return out + [_state(model)]


def test_graph_unet_topk_pooling(torch):
    rng = _rng(19)
    edge_index, batch = _random_graphs(rng, [6, 5, 7], p=0.3)
    x, y = rng.standard_normal((len(batch), 3)), np.array([0, 1, 0])
    sd = graph_unet_topk(torch, None, x, edge_index, batch, y)
    _compare(graph_unet_topk(tg, sd, x, edge_index, batch, y), graph_unet_topk(torch, sd, x, edge_index, batch, y))
