"""Real PyTorch programs built around recurrent networks, ported to tinygrad_rnn as their authors wrote them.

Each program is a function of the framework (``torch`` or ``tinygrad_rnn``, bound to the name ``torch`` inside it), so
one source runs on both: the PyTorch tutorials "Classifying names with a character-level RNN" and "Generating names"
(hand-written RNN modules, LogSoftmax + NLLLoss, manual SGD on p.data), IndRNN (element-wise recurrence, weight
clipping, BatchNorm), SRU and QRNN (custom recurrence loops, conv1d gates), ConvLSTM (ndrplz), the child-sum
Tree-LSTM of dasguptar/treelstm.pytorch (KLDivLoss, Adagrad), a CTC speech recognizer (conv + BiLSTM + CTCLoss,
OneCycleLR), DeepAR (LSTM + Normal likelihood), a Pointer Network (shirgur/PointerNet: masked attention, in-place
masking), Transformer-XL's segment recurrence (relative attention, _rel_shift, memory detached under no_grad), a
hierarchical attention network (GRUs over PackedSequences, attention pooling), a tagger with an LSTM of proj_size,
bidirectional over a packed batch, a Neural Turing Machine (loudinthecloud/pytorch-ntm: content/location addressing,
circular convolution), Phased LSTM, a Clockwork RNN, seq2seq with scheduled sampling and beam search, a character
VAE (GRU encoder/decoder, KL by formula and by distributions), truncated BPTT as pytorch/examples' word language
model (repackage_hidden, tied weights), a WGAN-GP critic (gradient penalty through an LSTM), MAML's inner step through
an LSTMCell (torch.func.grad + functional_call), a spectral-normed GRU, Graves' handwriting mixture density network
(MixtureSameFamily of MultivariateNormals beside the paper's closed form), ON-LSTM (cumax gates, ASGD), LSTNet (conv
+ GRU + skip-GRU + highway), a DNC's memory (usage, allocation by topk and cumprod, temporal links) and
pytorch/benchmarks' TorchScript custom_lstms (layer-norm LSTM cells, bidirectional and stacked layers). Both run from
the same initial weights (copied through state_dict) on the same data for a few training steps; losses, outputs,
final weights and gradients agree to 1e-10 in float64.
"""
import math
import numbers
from typing import List, Tuple

import numpy as np
import pytest

import tinygrad_rnn as tg
from ports import compare as _compare, load as _load, state as _state

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(autouse=True)
def _double(float64_default):
    """torch's and tg's default dtype float64 in each test (conftest's fixture)."""
    yield


def _check(build, train, seed=0):
    """build(framework) a model (torch's drawn from seed, ours given its state_dict); train(framework, model)
    gives the results to compare."""
    torch.manual_seed(seed)
    theirs = build(torch)
    ours = _load(tg, build(tg), _state(theirs))
    want = train(torch, theirs)
    _compare(train(tg, ours), want, 1e-12, where=build.__name__, rtol=1e-10)


rng = np.random.default_rng(0)


# ----------------------------------------------------------------------------- the PyTorch tutorials
def classifier(torch):
    nn = torch.nn

    class RNN(nn.Module):
        def __init__(self, input_size, hidden_size, output_size):
            super(RNN, self).__init__()
            self.hidden_size = hidden_size
            self.i2h = nn.Linear(input_size + hidden_size, hidden_size)
            self.h2o = nn.Linear(hidden_size, output_size)
            self.softmax = nn.LogSoftmax(dim=1)

        def forward(self, input, hidden):
            combined = torch.cat((input, hidden), 1)
            hidden = torch.tanh(self.i2h(combined))
            output = self.h2o(hidden)
            output = self.softmax(output)
            return output, hidden

        def initHidden(self):
            return torch.zeros(1, self.hidden_size)
    return RNN(57, 32, 18)


def lineToTensor(torch, letters, n_letters):
    tensor = torch.zeros(len(letters), 1, n_letters)
    for li, letter in enumerate(letters):
        tensor[li][0][letter] = 1
    return tensor


words = [rng.integers(0, 57, size=rng.integers(3, 8)).tolist() for _ in range(5)]
cats = rng.integers(0, 18, 5).tolist()


def train_classifier(torch, rnn):
    criterion = torch.nn.NLLLoss()
    learning_rate = 0.005
    out = []
    for w, c in zip(words, cats):
        line_tensor = lineToTensor(torch, w, 57)
        category_tensor = torch.tensor([c], dtype=torch.long)
        hidden = rnn.initHidden()
        rnn.zero_grad()
        for i in range(line_tensor.size()[0]):
            output, hidden = rnn(line_tensor[i], hidden)
        loss = criterion(output, category_tensor)
        loss.backward()
        for p in rnn.parameters():
            p.data.add_(p.grad.data, alpha=-learning_rate)
        top_n, top_i = output.topk(1)
        out += [loss.item(), top_i[0].item(), output]
    return out + [p.detach() for p in rnn.parameters()]


def test_char_rnn_classification_tutorial():
    _check(classifier, train_classifier)


def generator(torch):
    nn = torch.nn

    class RNN(nn.Module):
        def __init__(self, n_categories, input_size, hidden_size, output_size):
            super(RNN, self).__init__()
            self.hidden_size = hidden_size
            self.i2h = nn.Linear(n_categories + input_size + hidden_size, hidden_size)
            self.i2o = nn.Linear(n_categories + input_size + hidden_size, output_size)
            self.o2o = nn.Linear(hidden_size + output_size, output_size)
            self.dropout = nn.Dropout(0.1)
            self.softmax = nn.LogSoftmax(dim=1)

        def forward(self, category, input, hidden):
            input_combined = torch.cat((category, input, hidden), 1)
            hidden = self.i2h(input_combined)
            output = self.i2o(input_combined)
            output_combined = torch.cat((hidden, output), 1)
            output = self.o2o(output_combined)
            output = self.dropout(output)
            output = self.softmax(output)
            return output, hidden

        def initHidden(self):
            return torch.zeros(1, self.hidden_size)
    return RNN(18, 59, 32, 59)


samples = [(int(rng.integers(0, 18)), rng.integers(0, 58, size=rng.integers(3, 8)).tolist()) for _ in range(4)]


def train_generator(torch, rnn):
    """The tutorial's train() (dropout off: eval mode, so both draw nothing) and sample()."""
    criterion = torch.nn.NLLLoss()
    rnn.eval()
    out = []
    for c, w in samples:
        category_tensor = torch.zeros(1, 18)
        category_tensor[0][c] = 1
        input_line_tensor = torch.zeros(len(w), 1, 59)
        for li in range(len(w)):
            input_line_tensor[li][0][w[li]] = 1
        letter_indexes = [w[li] for li in range(1, len(w))]
        letter_indexes.append(58)  # EOS
        target_line_tensor = torch.LongTensor(letter_indexes)
        target_line_tensor.unsqueeze_(-1)
        hidden = rnn.initHidden()
        rnn.zero_grad()
        loss = torch.Tensor([0])
        for i in range(input_line_tensor.size(0)):
            output, hidden = rnn(category_tensor, input_line_tensor[i], hidden)
            loss += criterion(output, target_line_tensor[i])
        loss.backward()
        for p in rnn.parameters():
            p.data.add_(p.grad.data, alpha=-0.0005)
        out.append(loss.item() / input_line_tensor.size(0))
    with torch.no_grad():
        category_tensor = torch.zeros(1, 18)
        category_tensor[0][1] = 1
        input = torch.zeros(1, 1, 59)
        input[0][0][3] = 1
        hidden = rnn.initHidden()
        for i in range(6):
            output, hidden = rnn(category_tensor, input[0], hidden)
            topv, topi = output.topk(1)
            topi = topi[0][0]
            out.append(int(topi))
            input = torch.zeros(1, 1, 59)
            input[0][0][topi] = 1
    return out + [p.detach() for p in rnn.parameters()]


def test_char_rnn_generation_tutorial():
    _check(generator, train_generator)


# ----------------------------------------------------------------------------- IndRNN

# IndRNN
def indrnn(torch):
    nn = torch.nn; F = torch.nn.functional
    class IndRNNCell(nn.Module):
        def __init__(self, input_size, hidden_size, nonlinearity="relu", hidden_min_abs=0, hidden_max_abs=None):
            super(IndRNNCell, self).__init__()
            self.hidden_max_abs = hidden_max_abs
            self.weight_ih = nn.Parameter(torch.Tensor(hidden_size, input_size))
            self.weight_hh = nn.Parameter(torch.Tensor(hidden_size))
            self.bias_ih = nn.Parameter(torch.Tensor(hidden_size))
            self.activation = F.relu if nonlinearity == "relu" else torch.tanh
            self.reset_parameters()
        def check_bounds(self):
            if self.hidden_max_abs:
                self.weight_hh.data.copy_(torch.clamp(self.weight_hh.data, min=-self.hidden_max_abs,
                                                                     max=self.hidden_max_abs))
        def reset_parameters(self):
            for name, weight in self.named_parameters():
                if "bias" in name:
                    weight.data.zero_()
                elif "weight_hh" in name:
                    nn.init.constant_(weight, 1)
                elif "weight_ih" in name:
                    nn.init.normal_(weight, 0, 0.01)
            self.check_bounds()
        def forward(self, input, hx):
            return self.activation(F.linear(input, self.weight_ih, self.bias_ih) + torch.mul(self.weight_hh, hx))
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.cells = nn.ModuleList([IndRNNCell(3, 16, hidden_max_abs=2.0), IndRNNCell(16, 16, hidden_max_abs=2.0)])
            self.bns = nn.ModuleList([nn.BatchNorm1d(16) for _ in range(2)])
            self.lin = nn.Linear(16, 1)
        def forward(self, x):
            for cell, bn in zip(self.cells, self.bns):
                hx = x.new_zeros(x.size(1), 16, requires_grad=False)
                outputs = []
                for t in range(x.size(0)):
                    hx = cell(x[t], hx)
                    outputs.append(hx)
                x = torch.stack(outputs, 0)
                T, B, H = x.size()
                x = bn(x.view(T * B, H)).view(T, B, H)
            return self.lin(x[-1])
    return Net()
X = rng.standard_normal((10, 4, 3)); Y = rng.standard_normal((4, 1))
def train_ind(torch, m):
    opt = torch.optim.Adam(m.parameters(), lr=2e-3)
    out = []
    for _ in range(3):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(m(torch.from_numpy(X)), torch.from_numpy(Y))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        for c in m.cells: c.check_bounds()
        out.append(loss.detach())
    return out + [p.detach() for p in m.parameters()] + [m.bns[0].running_var]


def test_indrnn():
    _check(indrnn, train_ind)


# SRU (Lei et al.) written as custom loop
def sru(torch):
    nn = torch.nn
    class SRUCell(nn.Module):
        def __init__(self, n_in, n_out, dropout=0, rnn_dropout=0, bidirectional=False, use_tanh=1):
            super(SRUCell, self).__init__()
            self.n_in = n_in; self.n_out = n_out
            self.bidirectional = bidirectional
            out_size = n_out * 2 if bidirectional else n_out
            k = 4 if n_in != out_size else 3
            self.k = k
            self.size_per_dir = n_out * k
            self.weight = nn.Parameter(torch.Tensor(
                n_in, self.size_per_dir * 2 if bidirectional else self.size_per_dir))
            self.bias = nn.Parameter(torch.Tensor(n_out * 4 if bidirectional else n_out * 2))
            self.init_weight()
        def init_weight(self):
            val_range = (3.0 / self.n_in) ** 0.5
            self.weight.data.uniform_(-val_range, val_range)
            self.bias.data.zero_()
        def forward(self, input, c0=None):
            assert input.dim() == 2 or input.dim() == 3
            n_in, n_out = self.n_in, self.n_out
            batch = input.size(-2)
            if c0 is None:
                c0 = input.data.new(batch, n_out).zero_()
            x = input
            x_2d = x if x.dim() == 2 else x.contiguous().view(-1, n_in)
            u = x_2d.mm(self.weight)
            L = input.size(0)
            U = u.view(L, batch, n_out, self.k)
            fb, rb = self.bias.view(2, n_out)
            c = c0
            hs = []
            for t in range(L):
                x_tilde = U[t, :, :, 0]
                f = torch.sigmoid(U[t, :, :, 1] + fb)
                r = torch.sigmoid(U[t, :, :, 2] + rb)
                c = f * c + (1 - f) * x_tilde
                xt = U[t, :, :, 3] if self.k == 4 else x[t]
                h = r * torch.tanh(c) + (1 - r) * xt
                hs.append(h)
            return torch.stack(hs), c
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.l1 = SRUCell(5, 8); self.l2 = SRUCell(8, 8); self.fc = nn.Linear(8, 3)
        def forward(self, x):
            h, c = self.l1(x); h, c2 = self.l2(h)
            return self.fc(h).transpose(0, 1).reshape(-1, 3), torch.cat([c, c2], -1)
    return Net()
X2 = rng.standard_normal((7, 4, 5)); Y2 = rng.integers(0, 3, 28)
def train_sru(torch, m):
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
    out = []
    for _ in range(3):
        opt.zero_grad()
        logits, c = m(torch.tensor(X2))
        loss = torch.nn.CrossEntropyLoss(label_smoothing=0.1)(logits, torch.tensor(Y2)) + c.pow(2).mean() * 1e-2
        loss.backward(); opt.step(); out.append(loss.detach())
    return out + [p.detach() for p in m.parameters()]


def test_sru():
    _check(sru, train_sru)


# QRNN (fo-pooling with conv1d)
def qrnn(torch):
    nn = torch.nn; F = torch.nn.functional
    class QRNNLayer(nn.Module):
        def __init__(self, input_size, hidden_size, kernel_size=2):
            super().__init__()
            self.hidden_size = hidden_size; self.kernel_size = kernel_size
            self.conv = nn.Conv1d(input_size, 3 * hidden_size, kernel_size)
        def forward(self, x, c0=None):  # x: (B, T, I)
            x = F.pad(x.transpose(1, 2), (self.kernel_size - 1, 0))
            Z, Fg, O = self.conv(x).transpose(1, 2).chunk(3, dim=2)
            Z, Fg, O = Z.tanh(), Fg.sigmoid(), O.sigmoid()
            c = torch.zeros_like(Z[:, 0]) if c0 is None else c0
            cs = []
            for t in range(Z.size(1)):
                c = Fg[:, t] * c + (1 - Fg[:, t]) * Z[:, t]
                cs.append(c)
            C = torch.stack(cs, dim=1)
            return O * C, c
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(20, 6, padding_idx=0)
            self.q1 = QRNNLayer(6, 10); self.q2 = QRNNLayer(10, 10, kernel_size=1)
            self.out = nn.Linear(10, 20)
            self.out.weight = self.emb.weight if False else self.out.weight
        def forward(self, tok):
            h, _ = self.q1(self.emb(tok)); h, c = self.q2(h)
            return F.log_softmax(self.out(h), dim=-1)
    return Net()
tok = rng.integers(0, 20, (3, 9))
def train_qrnn(torch, m):
    opt = torch.optim.RMSprop(m.parameters(), lr=1e-2)
    out = []
    t = torch.tensor(tok)
    for _ in range(3):
        opt.zero_grad()
        lp = m(t[:, :-1])
        loss = torch.nn.functional.nll_loss(lp.reshape(-1, 20), t[:, 1:].reshape(-1), ignore_index=0)
        loss.backward(); opt.step(); out.append(loss.detach())
    return out + [p.detach() for p in m.parameters()]


def test_qrnn():
    _check(qrnn, train_qrnn)


# ConvLSTM (ndrplz)
def convlstm(torch):
    nn = torch.nn
    class ConvLSTMCell(nn.Module):
        def __init__(self, input_dim, hidden_dim, kernel_size, bias):
            super(ConvLSTMCell, self).__init__()
            self.input_dim = input_dim
            self.hidden_dim = hidden_dim
            self.kernel_size = kernel_size
            self.padding = kernel_size[0] // 2, kernel_size[1] // 2
            self.bias = bias
            self.conv = nn.Conv2d(in_channels=self.input_dim + self.hidden_dim, out_channels=4 * self.hidden_dim,
                                  kernel_size=self.kernel_size, padding=self.padding, bias=self.bias)
        def forward(self, input_tensor, cur_state):
            h_cur, c_cur = cur_state
            combined = torch.cat([input_tensor, h_cur], dim=1)
            combined_conv = self.conv(combined)
            cc_i, cc_f, cc_o, cc_g = torch.split(combined_conv, self.hidden_dim, dim=1)
            i = torch.sigmoid(cc_i); f = torch.sigmoid(cc_f); o = torch.sigmoid(cc_o); g = torch.tanh(cc_g)
            c_next = f * c_cur + i * g
            h_next = o * torch.tanh(c_next)
            return h_next, c_next
        def init_hidden(self, batch_size, image_size):
            height, width = image_size
            return (torch.zeros(batch_size, self.hidden_dim, height, width, device=self.conv.weight.device),
                    torch.zeros(batch_size, self.hidden_dim, height, width, device=self.conv.weight.device))
    class ConvLSTM(nn.Module):
        def __init__(self, input_dim, hidden_dim, kernel_size, num_layers, batch_first=False, bias=True,
                     return_all_layers=False):
            super(ConvLSTM, self).__init__()
            self._check_kernel_size_consistency(kernel_size)
            kernel_size = self._extend_for_multilayer(kernel_size, num_layers)
            hidden_dim = self._extend_for_multilayer(hidden_dim, num_layers)
            self.input_dim = input_dim; self.hidden_dim = hidden_dim; self.kernel_size = kernel_size
            self.num_layers = num_layers; self.batch_first = batch_first; self.bias = bias
            self.return_all_layers = return_all_layers
            cell_list = []
            for i in range(0, self.num_layers):
                cur_input_dim = self.input_dim if i == 0 else self.hidden_dim[i - 1]
                cell_list.append(ConvLSTMCell(input_dim=cur_input_dim, hidden_dim=self.hidden_dim[i],
                                              kernel_size=self.kernel_size[i], bias=self.bias))
            self.cell_list = nn.ModuleList(cell_list)
        def forward(self, input_tensor, hidden_state=None):
            if not self.batch_first:
                input_tensor = input_tensor.permute(1, 0, 2, 3, 4)
            b, _, _, h, w = input_tensor.size()
            if hidden_state is not None:
                raise NotImplementedError()
            else:
                hidden_state = self._init_hidden(batch_size=b, image_size=(h, w))
            layer_output_list = []; last_state_list = []
            seq_len = input_tensor.size(1)
            cur_layer_input = input_tensor
            for layer_idx in range(self.num_layers):
                h, c = hidden_state[layer_idx]
                output_inner = []
                for t in range(seq_len):
                    h, c = self.cell_list[layer_idx](input_tensor=cur_layer_input[:, t, :, :, :], cur_state=[h, c])
                    output_inner.append(h)
                layer_output = torch.stack(output_inner, dim=1)
                cur_layer_input = layer_output
                layer_output_list.append(layer_output)
                last_state_list.append([h, c])
            if not self.return_all_layers:
                layer_output_list = layer_output_list[-1:]
                last_state_list = last_state_list[-1:]
            return layer_output_list, last_state_list
        def _init_hidden(self, batch_size, image_size):
            init_states = []
            for i in range(self.num_layers):
                init_states.append(self.cell_list[i].init_hidden(batch_size, image_size))
            return init_states
        @staticmethod
        def _check_kernel_size_consistency(kernel_size):
            if not (isinstance(kernel_size, tuple) or
                    (isinstance(kernel_size, list) and all([isinstance(elem, tuple) for elem in kernel_size]))):
                raise ValueError('`kernel_size` must be tuple or list of tuples')
        @staticmethod
        def _extend_for_multilayer(param, num_layers):
            if not isinstance(param, list):
                param = [param] * num_layers
            return param
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = ConvLSTM(1, [4, 4], (3, 3), 2, batch_first=True)
            self.head = nn.Conv2d(4, 1, 1)
        def forward(self, x):
            outs, last = self.enc(x)
            return torch.sigmoid(self.head(last[0][0]))
    return Net()
Xc = rng.random((2, 4, 1, 6, 6)); Yc = (rng.random((2, 1, 6, 6)) > 0.5).astype(float)
def train_convlstm(torch, m):
    opt = torch.optim.AdamW(m.parameters(), lr=1e-2)
    out = []
    for _ in range(2):
        opt.zero_grad()
        loss = torch.nn.BCELoss()(m(torch.tensor(Xc)), torch.tensor(Yc))
        loss.backward(); opt.step(); out.append(loss.detach())
    return out + [p.detach() for p in m.parameters()]


def test_convlstm():
    _check(convlstm, train_convlstm)


# Child-sum Tree-LSTM (dasguptar/treelstm.pytorch)
class Tree(object):
    def __init__(self):
        self.parent = None; self.num_children = 0; self.children = list()
    def add_child(self, child):
        child.parent = self; self.num_children += 1; self.children.append(child)
def make_tree():
    nodes = [Tree() for _ in range(6)]
    for i, n in enumerate(nodes): n.idx = i
    nodes[0].add_child(nodes[1]); nodes[0].add_child(nodes[2]); nodes[1].add_child(nodes[3])
    nodes[1].add_child(nodes[4]); nodes[1].add_child(nodes[5])
    return nodes[0]
def treelstm(torch):
    nn = torch.nn; F = torch.nn.functional
    class ChildSumTreeLSTM(nn.Module):
        def __init__(self, in_dim, mem_dim):
            super(ChildSumTreeLSTM, self).__init__()
            self.in_dim = in_dim; self.mem_dim = mem_dim
            self.ioux = nn.Linear(self.in_dim, 3 * self.mem_dim)
            self.iouh = nn.Linear(self.mem_dim, 3 * self.mem_dim)
            self.fx = nn.Linear(self.in_dim, self.mem_dim)
            self.fh = nn.Linear(self.mem_dim, self.mem_dim)
        def node_forward(self, inputs, child_c, child_h):
            child_h_sum = torch.sum(child_h, dim=0, keepdim=True)
            iou = self.ioux(inputs) + self.iouh(child_h_sum)
            i, o, u = torch.split(iou, iou.size(1) // 3, dim=1)
            i, o, u = F.sigmoid(i), F.sigmoid(o), F.tanh(u)
            f = F.sigmoid(self.fh(child_h) + self.fx(inputs).repeat(len(child_h), 1))
            fc = torch.mul(f, child_c)
            c = torch.mul(i, u) + torch.sum(fc, dim=0, keepdim=True)
            h = torch.mul(o, F.tanh(c))
            return c, h
        def forward(self, tree, inputs):
            for idx in range(tree.num_children):
                self.forward(tree.children[idx], inputs)
            if tree.num_children == 0:
                child_c = inputs[0].detach().new(1, self.mem_dim).fill_(0.).requires_grad_()
                child_h = inputs[0].detach().new(1, self.mem_dim).fill_(0.).requires_grad_()
            else:
                child_c, child_h = zip(* map(lambda x: x.state, tree.children))
                child_c, child_h = torch.cat(child_c, dim=0), torch.cat(child_h, dim=0)
            tree.state = self.node_forward(inputs[tree.idx], child_c, child_h)
            return tree.state
    class Similarity(nn.Module):
        def __init__(self, mem_dim, hidden_dim, num_classes):
            super(Similarity, self).__init__()
            self.wh = nn.Linear(2 * mem_dim, hidden_dim)
            self.wp = nn.Linear(hidden_dim, num_classes)
        def forward(self, lvec, rvec):
            mult_dist = torch.mul(lvec, rvec)
            abs_dist = torch.abs(torch.add(lvec, -rvec))
            vec_dist = torch.cat((mult_dist, abs_dist), 1)
            out = F.sigmoid(self.wh(vec_dist))
            out = F.log_softmax(self.wp(out), dim=1)
            return out
    class SimilarityTreeLSTM(nn.Module):
        def __init__(self, vocab_size, in_dim, mem_dim, hidden_dim, num_classes, sparsity, freeze):
            super(SimilarityTreeLSTM, self).__init__()
            self.emb = nn.Embedding(vocab_size, in_dim, padding_idx=0, sparse=sparsity)
            if freeze:
                self.emb.weight.requires_grad = False
            self.childsumtreelstm = ChildSumTreeLSTM(in_dim, mem_dim)
            self.similarity = Similarity(mem_dim, hidden_dim, num_classes)
        def forward(self, ltree, linputs, rtree, rinputs):
            linputs = self.emb(linputs); rinputs = self.emb(rinputs)
            lstate, lhidden = self.childsumtreelstm(ltree, linputs)
            rstate, rhidden = self.childsumtreelstm(rtree, rinputs)
            output = self.similarity(lstate, rstate)
            return output
    return SimilarityTreeLSTM(30, 8, 10, 6, 5, False, False)
lin = rng.integers(1, 30, 6); rin = rng.integers(1, 30, 6)
def train_tree(torch, m):
    opt = torch.optim.Adagrad(filter(lambda p: p.requires_grad, m.parameters()), lr=0.05, weight_decay=1e-4)
    crit = torch.nn.KLDivLoss(reduction='batchmean')
    out = []
    label = 3.4
    for _ in range(3):
        opt.zero_grad()
        o = m(make_tree(), torch.tensor(lin), make_tree(), torch.tensor(rin))
        # map_label_to_target
        target = torch.zeros(1, 5, dtype=torch.float, device='cpu')
        ceil = int(np.ceil(label)); floor = int(np.floor(label))
        if ceil == floor: target[0, floor - 1] = 1
        else:
            target[0, floor - 1] = ceil - label; target[0, ceil - 1] = label - floor
        loss = crit(o, target)
        loss.backward(); opt.step(); out.append(loss.detach())
        out.append(torch.dot(torch.arange(1, 6, dtype=torch.float64), o.squeeze().exp()))
    return out + [p.detach() for p in m.parameters()]


def test_treelstm():
    _check(treelstm, train_tree)


# CTC speech recogniser
def ctcnet(torch):
    nn = torch.nn; F = torch.nn.functional
    class SpeechRecognition(nn.Module):
        def __init__(self, n_feats=8, hidden=12, n_class=6):
            super().__init__()
            self.cnn = nn.Sequential(nn.Conv1d(n_feats, n_feats, 5, stride=1, padding=5 // 2), nn.GELU(),
                                     nn.Dropout(0.0))
            self.layer_norm = nn.LayerNorm(n_feats)
            self.lstm = nn.LSTM(input_size=n_feats, hidden_size=hidden, num_layers=2, dropout=0.0, bidirectional=True)
            self.layer_norm2 = nn.LayerNorm(hidden * 2)
            self.final_fc = nn.Linear(hidden * 2, n_class)
        def _init_hidden(self, batch_size):
            n, hs = 2, 12
            return (torch.zeros(n * 2, batch_size, hs), torch.zeros(n * 2, batch_size, hs))
        def forward(self, x, hidden):
            x = x.squeeze(1)
            x = self.cnn(x)
            x = x.transpose(1, 2).transpose(0, 1)  # (T, B, F)
            x = F.gelu(self.layer_norm(x))
            out, (hn, cn) = self.lstm(x, hidden)
            x = F.gelu(self.layer_norm2(out))
            return self.final_fc(x), (hn, cn)
    return SpeechRecognition()
spec = rng.standard_normal((3, 1, 8, 15)); labels = rng.integers(1, 6, (3, 5))
in_len = [15, 13, 11]; lab_len = [5, 3, 4]
def train_ctc(torch, m):
    opt = torch.optim.AdamW(m.parameters(), 5e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=5e-3, steps_per_epoch=3, epochs=1, anneal_strategy='linear')
    crit = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    out = []
    for _ in range(3):
        hidden = m._init_hidden(3)
        hn, c0 = hidden[0].to('cpu'), hidden[1].to('cpu')
        opt.zero_grad()
        output, _ = m(torch.tensor(spec), (hn, c0))
        output = torch.nn.functional.log_softmax(output, dim=2)
        loss = crit(output, torch.tensor(labels), torch.IntTensor(in_len), torch.tensor(lab_len))
        loss.backward(); opt.step(); sched.step(); out.append(loss.detach())
    # greedy decoder
    arg_maxes = torch.argmax(output.transpose(0, 1), dim=2)
    decodes = []
    for i, args in enumerate(arg_maxes):
        decode = []
        for j, index in enumerate(args):
            if index != 0:
                if j != 0 and index == args[j - 1]:
                    continue
                decode.append(index.item())
        decodes.append(decode)
    return out + decodes + [p.detach() for p in m.parameters()]


def test_ctc():
    _check(ctcnet, train_ctc)


# DeepAR
def deepar(torch):
    nn = torch.nn
    class Net(nn.Module):
        def __init__(self, num_class=5, embedding_dim=3, cov_dim=2, lstm_hidden_dim=8, lstm_layers=2):
            super(Net, self).__init__()
            self.lstm_layers = lstm_layers; self.lstm_hidden_dim = lstm_hidden_dim
            self.embedding = nn.Embedding(num_class, embedding_dim)
            self.lstm = nn.LSTM(input_size=1 + cov_dim + embedding_dim, hidden_size=lstm_hidden_dim,
                                num_layers=lstm_layers, bias=True, batch_first=False, dropout=0.0)
            for names in self.lstm._all_weights:
                for name in filter(lambda n: "bias" in n, names):
                    bias = getattr(self.lstm, name)
                    n = bias.size(0)
                    start, end = n // 4, n // 2
                    bias.data[start:end].fill_(1.)
            self.relu = nn.ReLU()
            self.distribution_mu = nn.Linear(lstm_hidden_dim * lstm_layers, 1)
            self.distribution_presigma = nn.Linear(lstm_hidden_dim * lstm_layers, 1)
            self.distribution_sigma = nn.Softplus()
        def forward(self, x, idx, hidden, cell):
            onehot_embed = self.embedding(idx)
            lstm_input = torch.cat((x, onehot_embed), dim=2)
            output, (hidden, cell) = self.lstm(lstm_input, (hidden, cell))
            hidden_permute = hidden.permute(1, 2, 0).contiguous().view(hidden.shape[1], -1)
            pre_sigma = self.distribution_presigma(hidden_permute)
            mu = self.distribution_mu(hidden_permute)
            sigma = self.distribution_sigma(pre_sigma)
            return torch.squeeze(mu), torch.squeeze(sigma), hidden, cell
        def init_hidden(self, input_size):
            return torch.zeros(self.lstm_layers, input_size, self.lstm_hidden_dim, device='cpu')
        def init_cell(self, input_size):
            return torch.zeros(self.lstm_layers, input_size, self.lstm_hidden_dim, device='cpu')
    return Net()
def loss_fn(torch, mu, sigma, labels):
    zero_index = (labels != 0)
    distribution = torch.distributions.normal.Normal(mu[zero_index], sigma[zero_index])
    likelihood = distribution.log_prob(labels[zero_index])
    return -torch.mean(likelihood)
tb = rng.standard_normal((4, 10, 3)); tb[2, 4, 0] = tb[0, 7, 0] = 0; idb = rng.integers(0, 5, 4)
lb = rng.standard_normal((4, 10)); lb[1, 3] = 0
def train_deepar(torch, model):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    labels_batch = torch.tensor(lb).permute(1, 0).to(torch.float64)
    idx = torch.tensor(idb).unsqueeze(0)
    out = []
    for _ in range(2):  # (a fresh batch each time, as from the DataLoader: the loop writes mu into it)
        train_batch = torch.tensor(tb).permute(1, 0, 2).to(torch.float64)
        batch_size = train_batch.shape[1]
        opt.zero_grad()
        loss = torch.zeros(1, device='cpu')
        hidden = model.init_hidden(batch_size); cell = model.init_cell(batch_size)
        mu = None
        for t in range(10):
            zero_index = (train_batch[t, :, 0] == 0)
            if t > 0 and torch.sum(zero_index) > 0:
                train_batch[t, zero_index, 0] = mu[zero_index]
            mu, sigma, hidden, cell = model(train_batch[t].unsqueeze_(0).clone(), idx, hidden, cell)
            loss += loss_fn(torch, mu, sigma, labels_batch[t])
        loss.backward(); opt.step(); out.append(loss.detach() / 10)
    # sampling with the same normal draws
    with torch.no_grad():
        samples = []
        eps = torch.tensor(np.random.default_rng(5).standard_normal((3, 4)))
        for j in range(3):
            mu_de, sigma_de, hidden, cell = model(train_batch[-1].unsqueeze(0), idx, hidden, cell)
            gaussian = torch.distributions.normal.Normal(mu_de, sigma_de)
            samples.append(mu_de + sigma_de * eps[j])
            out.append(gaussian.cdf(samples[-1])); out.append(gaussian.entropy())
    return out + [p.detach() for p in model.parameters()]


def test_deepar():
    _check(deepar, train_deepar)


# Pointer network (shirgur/PointerNet style)
def ptrnet(torch):
    nn = torch.nn; F = torch.nn.functional; Parameter = nn.Parameter
    class Encoder(nn.Module):
        def __init__(self, embedding_dim, hidden_dim, n_layers, dropout, bidir):
            super(Encoder, self).__init__()
            self.hidden_dim = hidden_dim // 2 if bidir else hidden_dim
            self.n_layers = n_layers * 2 if bidir else n_layers
            self.bidir = bidir
            self.lstm = nn.LSTM(embedding_dim, self.hidden_dim, n_layers, dropout=dropout, bidirectional=bidir)
            self.h0 = Parameter(torch.zeros(1), requires_grad=False)
            self.c0 = Parameter(torch.zeros(1), requires_grad=False)
        def forward(self, embedded_inputs, hidden):
            embedded_inputs = embedded_inputs.permute(1, 0, 2)
            outputs, hidden = self.lstm(embedded_inputs, hidden)
            return outputs.permute(1, 0, 2), hidden
        def init_hidden(self, embedded_inputs):
            batch_size = embedded_inputs.size(0)
            h0 = self.h0.unsqueeze(0).unsqueeze(0).repeat(self.n_layers, batch_size, self.hidden_dim)
            c0 = self.h0.unsqueeze(0).unsqueeze(0).repeat(self.n_layers, batch_size, self.hidden_dim)
            return h0, c0
    class Attention(nn.Module):
        def __init__(self, input_dim, hidden_dim):
            super(Attention, self).__init__()
            self.input_dim = input_dim; self.hidden_dim = hidden_dim
            self.input_linear = nn.Linear(input_dim, hidden_dim)
            self.context_linear = nn.Conv1d(input_dim, hidden_dim, 1, 1)
            self.V = Parameter(torch.Tensor(hidden_dim), requires_grad=True)
            self._inf = Parameter(torch.Tensor([float('-inf')]), requires_grad=False)
            self.tanh = nn.Tanh(); self.softmax = nn.Softmax()
            nn.init.uniform_(self.V, -1, 1)
        def forward(self, input, context, mask):
            inp = self.input_linear(input).unsqueeze(2).expand(-1, -1, context.size(1))
            context = context.permute(0, 2, 1)
            ctx = self.context_linear(context)
            V = self.V.unsqueeze(0).expand(context.size(0), -1).unsqueeze(1)
            att = torch.bmm(V, self.tanh(inp + ctx)).squeeze(1)
            if len(att[mask]) > 0:
                att[mask] = self.inf[mask]
            alpha = self.softmax(att)
            hidden_state = torch.bmm(ctx, alpha.unsqueeze(2)).squeeze(2)
            return hidden_state, alpha
        def init_inf(self, mask_size):
            self.inf = self._inf.unsqueeze(1).expand(*mask_size)
    class Decoder(nn.Module):
        def __init__(self, embedding_dim, hidden_dim):
            super(Decoder, self).__init__()
            self.embedding_dim = embedding_dim; self.hidden_dim = hidden_dim
            self.input_to_hidden = nn.Linear(embedding_dim, 4 * hidden_dim)
            self.hidden_to_hidden = nn.Linear(hidden_dim, 4 * hidden_dim)
            self.hidden_out = nn.Linear(hidden_dim * 2, hidden_dim)
            self.att = Attention(hidden_dim, hidden_dim)
            self.mask = Parameter(torch.ones(1), requires_grad=False)
            self.runner = Parameter(torch.zeros(1), requires_grad=False)
        def forward(self, embedded_inputs, decoder_input, hidden, context):
            batch_size = embedded_inputs.size(0); input_length = embedded_inputs.size(1)
            mask = self.mask.repeat(input_length).unsqueeze(0).repeat(batch_size, 1)
            self.att.init_inf(mask.size())
            runner = self.runner.repeat(input_length)
            for i in range(input_length):
                runner.data[i] = i
            runner = runner.unsqueeze(0).expand(batch_size, -1).long()
            outputs = []; pointers = []
            def step(x, hidden):
                h, c = hidden
                gates = self.input_to_hidden(x) + self.hidden_to_hidden(h)
                input, forget, cell, out = gates.chunk(4, 1)
                input = F.sigmoid(input); forget = F.sigmoid(forget); cell = F.tanh(cell); out = F.sigmoid(out)
                c_t = (forget * c) + (input * cell)
                h_t = out * F.tanh(c_t)
                hidden_t, output = self.att(h_t, context, torch.eq(mask, 0))
                hidden_t = F.tanh(self.hidden_out(torch.cat((hidden_t, h_t), 1)))
                return hidden_t, c_t, output
            for _ in range(input_length):
                h_t, c_t, outs = step(decoder_input, hidden)
                hidden = (h_t, c_t)
                masked_outs = outs * mask
                max_probs, indices = masked_outs.max(1)
                one_hot_pointers = (runner == indices.unsqueeze(1).expand(-1, outs.size()[1])).float()
                mask = mask * (1 - one_hot_pointers)
                embedding_mask = one_hot_pointers.unsqueeze(2).expand(-1, -1, self.embedding_dim).byte()
                decoder_input = embedded_inputs[embedding_mask.data].view(batch_size, self.embedding_dim)
                outputs.append(outs.unsqueeze(0)); pointers.append(indices.unsqueeze(1))
            outputs = torch.cat(outputs).permute(1, 0, 2)
            pointers = torch.cat(pointers, 1)
            return (outputs, pointers), hidden
    class PointerNet(nn.Module):
        def __init__(self, embedding_dim, hidden_dim, lstm_layers, dropout, bidir=False):
            super(PointerNet, self).__init__()
            self.embedding_dim = embedding_dim; self.bidir = bidir
            self.embedding = nn.Linear(2, embedding_dim)
            self.encoder = Encoder(embedding_dim, hidden_dim, lstm_layers, dropout, bidir)
            self.decoder = Decoder(embedding_dim, hidden_dim)
            self.decoder_input0 = Parameter(torch.Tensor(embedding_dim), requires_grad=False)
            nn.init.uniform_(self.decoder_input0, -1, 1)
        def forward(self, inputs):
            batch_size = inputs.size(0); input_length = inputs.size(1)
            decoder_input0 = self.decoder_input0.unsqueeze(0).expand(batch_size, -1)
            inputs = inputs.view(batch_size * input_length, -1)
            embedded_inputs = self.embedding(inputs).view(batch_size, input_length, -1)
            encoder_hidden0 = self.encoder.init_hidden(embedded_inputs)
            encoder_outputs, encoder_hidden = self.encoder(embedded_inputs, encoder_hidden0)
            if self.bidir:
                decoder_hidden0 = (torch.cat(tuple(encoder_hidden[0][-2:]), dim=-1),
                                   torch.cat(tuple(encoder_hidden[1][-2:]), dim=-1))
            else:
                decoder_hidden0 = (encoder_hidden[0][-1], encoder_hidden[1][-1])
            (outputs, pointers), decoder_hidden = self.decoder(embedded_inputs, decoder_input0, decoder_hidden0,
                                                               encoder_outputs)
            return outputs, pointers
    return PointerNet(6, 8, 1, 0.0, bidir=True)
pts = rng.random((3, 5, 2)); sol = np.stack([rng.permutation(5) for _ in range(3)])
def train_ptr(torch, model):
    opt = torch.optim.Adam(filter(lambda p: p.requires_grad, model.parameters()), lr=1e-3)
    CCE = torch.nn.CrossEntropyLoss()
    out = []
    for _ in range(2):
        o, p = model(torch.tensor(pts))
        o = o.contiguous().view(-1, o.size()[-1])
        target_batch = torch.tensor(sol).view(-1)
        loss = CCE(o, target_batch)
        opt.zero_grad(); loss.backward(); opt.step()
        out += [loss.detach(), p]
    return out + [p.detach() for p in model.parameters()]


def test_ptrnet():
    _check(ptrnet, train_ptr)


# Transformer-XL (kimiyoung), relative attention with memory
def txl(torch):
    nn = torch.nn; F = torch.nn.functional
    class PositionalEmbedding(nn.Module):
        def __init__(self, demb):
            super(PositionalEmbedding, self).__init__()
            self.demb = demb
            inv_freq = 1 / (10000 ** (torch.arange(0.0, demb, 2.0) / demb))
            self.register_buffer('inv_freq', inv_freq)
        def forward(self, pos_seq, bsz=None):
            sinusoid_inp = torch.ger(pos_seq, self.inv_freq)
            pos_emb = torch.cat([sinusoid_inp.sin(), sinusoid_inp.cos()], dim=-1)
            if bsz is not None:
                return pos_emb[:, None, :].expand(-1, bsz, -1)
            else:
                return pos_emb[:, None, :]
    class PositionwiseFF(nn.Module):
        def __init__(self, d_model, d_inner, dropout, pre_lnorm=False):
            super(PositionwiseFF, self).__init__()
            self.CoreNet = nn.Sequential(nn.Linear(d_model, d_inner), nn.ReLU(inplace=True), nn.Dropout(dropout),
                                         nn.Linear(d_inner, d_model), nn.Dropout(dropout))
            self.layer_norm = nn.LayerNorm(d_model); self.pre_lnorm = pre_lnorm
        def forward(self, inp):
            core_out = self.CoreNet(inp)
            return self.layer_norm(inp + core_out)
    class RelPartialLearnableMultiHeadAttn(nn.Module):
        def __init__(self, n_head, d_model, d_head, dropout, dropatt=0):
            super().__init__()
            self.n_head = n_head; self.d_model = d_model; self.d_head = d_head
            self.qkv_net = nn.Linear(d_model, 3 * n_head * d_head, bias=False)
            self.drop = nn.Dropout(dropout); self.dropatt = nn.Dropout(dropatt)
            self.o_net = nn.Linear(n_head * d_head, d_model, bias=False)
            self.layer_norm = nn.LayerNorm(d_model)
            self.scale = 1 / (d_head ** 0.5)
            self.r_net = nn.Linear(self.d_model, self.n_head * self.d_head, bias=False)
        def _rel_shift(self, x, zero_triu=False):
            zero_pad = torch.zeros((x.size(0), 1, *x.size()[2:]), device=x.device, dtype=x.dtype)
            x_padded = torch.cat([zero_pad, x], dim=1)
            x_padded = x_padded.view(x.size(1) + 1, x.size(0), *x.size()[2:])
            x = x_padded[1:].view_as(x)
            if zero_triu:
                ones = torch.ones((x.size(0), x.size(1)))
                x = x * torch.tril(ones, x.size(1) - x.size(0))[:, :, None, None]
            return x
        def forward(self, w, r, r_w_bias, r_r_bias, attn_mask=None, mems=None):
            qlen, rlen, bsz = w.size(0), r.size(0), w.size(1)
            if mems is not None:
                cat = torch.cat([mems, w], 0)
                w_heads = self.qkv_net(cat)
                r_head_k = self.r_net(r)
                w_head_q, w_head_k, w_head_v = torch.chunk(w_heads, 3, dim=-1)
                w_head_q = w_head_q[-qlen:]
            else:
                w_heads = self.qkv_net(w)
                r_head_k = self.r_net(r)
                w_head_q, w_head_k, w_head_v = torch.chunk(w_heads, 3, dim=-1)
            klen = w_head_k.size(0)
            w_head_q = w_head_q.view(qlen, bsz, self.n_head, self.d_head)
            w_head_k = w_head_k.view(klen, bsz, self.n_head, self.d_head)
            w_head_v = w_head_v.view(klen, bsz, self.n_head, self.d_head)
            r_head_k = r_head_k.view(rlen, self.n_head, self.d_head)
            rw_head_q = w_head_q + r_w_bias
            AC = torch.einsum('ibnd,jbnd->ijbn', (rw_head_q, w_head_k))
            rr_head_q = w_head_q + r_r_bias
            BD = torch.einsum('ibnd,jnd->ijbn', (rr_head_q, r_head_k))
            BD = self._rel_shift(BD)
            attn_score = AC + BD
            attn_score.mul_(self.scale)
            if attn_mask is not None and attn_mask.any().item():
                if attn_mask.dim() == 2:
                    attn_score = attn_score.masked_fill(attn_mask[None, :, :, None], -float('inf'))
                elif attn_mask.dim() == 3:
                    attn_score = attn_score.masked_fill(attn_mask[:, :, :, None], -float('inf'))
            attn_prob = F.softmax(attn_score, dim=1)
            attn_prob = self.dropatt(attn_prob)
            attn_vec = torch.einsum('ijbn,jbnd->ibnd', (attn_prob, w_head_v))
            attn_vec = attn_vec.contiguous().view(attn_vec.size(0), attn_vec.size(1), self.n_head * self.d_head)
            attn_out = self.o_net(attn_vec)
            attn_out = self.drop(attn_out)
            return self.layer_norm(w + attn_out)
    class Layer(nn.Module):
        def __init__(self, n_head, d_model, d_head, d_inner):
            super().__init__()
            self.dec_attn = RelPartialLearnableMultiHeadAttn(n_head, d_model, d_head, 0.0)
            self.pos_ff = PositionwiseFF(d_model, d_inner, 0.0)
        def forward(self, dec_inp, r, r_w_bias, r_r_bias, dec_attn_mask=None, mems=None):
            return self.pos_ff(self.dec_attn(dec_inp, r, r_w_bias, r_r_bias, attn_mask=dec_attn_mask, mems=mems))
    class MemTransformerLM(nn.Module):
        def __init__(self, n_token=15, n_layer=2, n_head=2, d_model=8, d_head=4, d_inner=16, tgt_len=4, mem_len=4):
            super().__init__()
            self.n_token = n_token; self.d_model = d_model; self.n_head = n_head; self.d_head = d_head
            self.word_emb = nn.Embedding(n_token, d_model)
            self.n_layer = n_layer; self.tgt_len = tgt_len; self.mem_len = mem_len
            self.layers = nn.ModuleList([Layer(n_head, d_model, d_head, d_inner) for _ in range(n_layer)])
            self.out_layer = nn.Linear(d_model, n_token)
            self.pos_emb = PositionalEmbedding(self.d_model)
            self.r_w_bias = nn.Parameter(torch.Tensor(self.n_head, self.d_head).normal_(0, 0.02))
            self.r_r_bias = nn.Parameter(torch.Tensor(self.n_head, self.d_head).normal_(0, 0.02))
        def init_mems(self):
            if self.mem_len > 0:
                mems = []
                param = next(self.parameters())
                for i in range(self.n_layer + 1):
                    empty = torch.empty(0, dtype=param.dtype, device=param.device)
                    mems.append(empty)
                return mems
            return None
        def _update_mems(self, hids, mems, qlen, mlen):
            if mems is None: return None
            assert len(hids) == len(mems), 'len(hids) != len(mems)'
            with torch.no_grad():
                new_mems = []
                end_idx = mlen + max(0, qlen - 0)
                beg_idx = max(0, end_idx - self.mem_len)
                for i in range(len(hids)):
                    cat = torch.cat([mems[i], hids[i]], dim=0)
                    new_mems.append(cat[beg_idx:end_idx].detach())
            return new_mems
        def _forward(self, dec_inp, mems=None):
            qlen, bsz = dec_inp.size()
            word_emb = self.word_emb(dec_inp)
            mlen = mems[0].size(0) if mems is not None else 0
            klen = mlen + qlen
            dec_attn_mask = torch.triu(word_emb.new_ones(qlen, klen), diagonal=1 + mlen).byte()[:, :, None]
            hids = []
            pos_seq = torch.arange(klen - 1, -1, -1.0, device=word_emb.device, dtype=word_emb.dtype)
            pos_emb = self.pos_emb(pos_seq)
            core_out = word_emb
            hids.append(core_out)
            for i, layer in enumerate(self.layers):
                mems_i = None if mems is None else mems[i]
                core_out = layer(core_out, pos_emb, self.r_w_bias, self.r_r_bias, dec_attn_mask=dec_attn_mask.bool(),
                                 mems=mems_i)
                hids.append(core_out)
            new_mems = self._update_mems(hids, mems, mlen, qlen)
            return core_out, new_mems
        def forward(self, data, target, *mems):
            if not mems: mems = self.init_mems()
            tgt_len = target.size(0)
            hidden, new_mems = self._forward(data, mems=mems)
            pred_hid = hidden[-tgt_len:]
            logit = self.out_layer(pred_hid.view(-1, pred_hid.size(-1)))
            loss = -F.log_softmax(logit, dim=-1).gather(1, target.reshape(-1).unsqueeze(1)).squeeze(1)
            loss = loss.view(tgt_len, -1)
            if new_mems is None: return [loss]
            else: return [loss] + new_mems
    return MemTransformerLM()
stream = rng.integers(0, 15, (13, 2))
def train_txl(torch, model):
    opt = torch.optim.Adam(model.parameters(), lr=2.5e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, 10, eta_min=0)
    data = torch.tensor(stream)
    mems = tuple(); out = []
    for i in range(0, 12, 4):
        d, t = data[i:i + 4], data[i + 1:i + 5]
        model.zero_grad()
        ret = model(d, t, *mems)
        loss, mems = ret[0], ret[1:]
        loss = loss.mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        opt.step(); sched.step()
        out.append(loss.detach())
    return out + list(mems) + [p.detach() for p in model.parameters()]


def test_transformer_xl():
    _check(txl, train_txl)


# Hierarchical attention network (word-level GRU + attention pooling, pack_padded_sequence)
def han(torch):
    nn = torch.nn
    pack_padded_sequence = torch.nn.utils.rnn.pack_padded_sequence
    pad_packed_sequence = torch.nn.utils.rnn.pad_packed_sequence
    PackedSequence = torch.nn.utils.rnn.PackedSequence
    class WordAttention(nn.Module):
        def __init__(self, vocab_size, embed_dim, word_gru_hidden_dim, word_gru_num_layers, word_att_dim):
            super(WordAttention, self).__init__()
            self.embeddings = nn.Embedding(vocab_size, embed_dim)
            self.gru = nn.GRU(embed_dim, word_gru_hidden_dim, num_layers=word_gru_num_layers,
                              batch_first=True, bidirectional=True)
            self.layer_norm = nn.LayerNorm(2 * word_gru_hidden_dim, elementwise_affine=True)
            self.attention = nn.Linear(2 * word_gru_hidden_dim, word_att_dim)
            self.context_vector = nn.Linear(word_att_dim, 1, bias=False)
        def forward(self, sents, sent_lengths):
            sent_lengths, sent_perm_idx = sent_lengths.sort(dim=0, descending=True)
            sents = sents[sent_perm_idx]
            sents = self.embeddings(sents)
            packed_words = pack_padded_sequence(sents, lengths=sent_lengths.tolist(), batch_first=True)
            valid_bsz = packed_words.batch_sizes
            packed_words, _ = self.gru(packed_words)
            normed_words = self.layer_norm(packed_words.data)
            att = torch.tanh(self.attention(normed_words.data))
            att = self.context_vector(att).squeeze(1)
            val = att.max()
            att = torch.exp(att - val)
            att, _ = pad_packed_sequence(PackedSequence(att, valid_bsz), batch_first=True)
            att_weights = att / torch.sum(att, dim=1, keepdim=True)
            sents, _ = pad_packed_sequence(packed_words, batch_first=True)
            sents = sents * att_weights.unsqueeze(2)
            sents = sents.sum(dim=1)
            _, sent_unperm_idx = sent_perm_idx.sort(dim=0, descending=False)
            sents = sents[sent_unperm_idx]
            att_weights = att_weights[sent_unperm_idx]
            return sents, att_weights
    class SentenceAttention(nn.Module):
        def __init__(self, vocab_size, embed_dim, word_gru_hidden_dim, sent_gru_hidden_dim, word_att_dim, sent_att_dim):
            super(SentenceAttention, self).__init__()
            self.word_attention = WordAttention(vocab_size, embed_dim, word_gru_hidden_dim, 1, word_att_dim)
            self.gru = nn.GRU(2 * word_gru_hidden_dim, sent_gru_hidden_dim, num_layers=1, batch_first=True,
                              bidirectional=True)
            self.layer_norm = nn.LayerNorm(2 * sent_gru_hidden_dim, elementwise_affine=True)
            self.sent_attention = nn.Linear(2 * sent_gru_hidden_dim, sent_att_dim)
            self.sentence_context_vector = nn.Linear(sent_att_dim, 1, bias=False)
        def forward(self, docs, doc_lengths, sent_lengths):
            doc_lengths, doc_perm_idx = doc_lengths.sort(dim=0, descending=True)
            docs = docs[doc_perm_idx]
            sent_lengths = sent_lengths[doc_perm_idx]
            packed_sents = pack_padded_sequence(docs, lengths=doc_lengths.tolist(), batch_first=True)
            valid_bsz = packed_sents.batch_sizes
            packed_sent_lengths = pack_padded_sequence(sent_lengths, lengths=doc_lengths.tolist(), batch_first=True)
            sents, word_att_weights = self.word_attention(packed_sents.data, packed_sent_lengths.data)
            sents = self.dropout(sents) if hasattr(self, 'dropout') else sents
            packed_sents, _ = self.gru(PackedSequence(sents, valid_bsz))
            normed_sents = self.layer_norm(packed_sents.data)
            att = torch.tanh(self.sent_attention(normed_sents))
            att = self.sentence_context_vector(att).squeeze(1)
            val = att.max()
            att = torch.exp(att - val)
            att, _ = pad_packed_sequence(PackedSequence(att, valid_bsz), batch_first=True)
            sent_att_weights = att / torch.sum(att, dim=1, keepdim=True)
            docs, _ = pad_packed_sequence(packed_sents, batch_first=True)
            docs = docs * sent_att_weights.unsqueeze(2)
            docs = docs.sum(dim=1)
            word_att_weights, _ = pad_packed_sequence(PackedSequence(word_att_weights, valid_bsz), batch_first=True)
            _, doc_unperm_idx = doc_perm_idx.sort(dim=0, descending=False)
            docs = docs[doc_unperm_idx]
            word_att_weights = word_att_weights[doc_unperm_idx]
            sent_att_weights = sent_att_weights[doc_unperm_idx]
            return docs, word_att_weights, sent_att_weights
    class HierarchicalAttentionNetwork(nn.Module):
        def __init__(self, num_classes=3, vocab_size=20, embed_dim=6, word_gru_hidden_dim=5, sent_gru_hidden_dim=5,
                     word_att_dim=4, sent_att_dim=4):
            super().__init__()
            self.sent_attention = SentenceAttention(vocab_size, embed_dim, word_gru_hidden_dim, sent_gru_hidden_dim,
                                                    word_att_dim, sent_att_dim)
            self.fc = nn.Linear(2 * sent_gru_hidden_dim, num_classes)
        def forward(self, docs, doc_lengths, sent_lengths):
            doc_embeds, word_att_weights, sentence_att_weights = self.sent_attention(docs, doc_lengths, sent_lengths)
            scores = self.fc(doc_embeds)
            return scores, word_att_weights, sentence_att_weights
    return HierarchicalAttentionNetwork()
docs = np.zeros((3, 4, 6), np.int64); dl = np.array([2, 4, 3]); sl = np.zeros((3, 4), np.int64)
for d in range(3):
    for s in range(dl[d]):
        n = rng.integers(1, 7); sl[d, s] = n; docs[d, s, :n] = rng.integers(1, 20, n)
lab = np.array([0, 2, 1])
def train_han(torch, model):
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    crit = torch.nn.CrossEntropyLoss()
    out = []
    for _ in range(2):
        scores, w, s = model(torch.from_numpy(docs), torch.from_numpy(dl), torch.from_numpy(sl))
        loss = crit(scores, torch.from_numpy(lab))
        opt.zero_grad(); loss.backward(); opt.step()
        predictions = scores.max(dim=1)[1]
        correct = torch.eq(predictions, torch.from_numpy(lab)).sum().item()
        out += [loss.detach(), w.detach(), s.detach(), correct]
    return out + [p.detach() for p in model.parameters()]


def test_han():
    _check(han, train_han)


# Tagger: LSTM with proj_size, bidirectional, packed, enforce_sorted=False
def tagger(torch):
    nn = torch.nn; F = torch.nn.functional
    class LSTMTagger(nn.Module):
        def __init__(self, embedding_dim, hidden_dim, vocab_size, tagset_size):
            super(LSTMTagger, self).__init__()
            self.word_embeddings = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
            self.lstm = nn.LSTM(embedding_dim, hidden_dim, num_layers=2, proj_size=3, bidirectional=True)
            self.hidden2tag = nn.Linear(6, tagset_size)
        def forward(self, sentence, lengths):
            embeds = self.word_embeddings(sentence)
            packed = nn.utils.rnn.pack_padded_sequence(embeds, lengths, enforce_sorted=False)
            lstm_out, (h, c) = self.lstm(packed)
            out, lens = nn.utils.rnn.pad_packed_sequence(lstm_out, padding_value=0.0, total_length=sentence.size(0))
            tag_space = self.hidden2tag(out)
            tag_scores = F.log_softmax(tag_space, dim=2)
            return tag_scores, h, c
    return LSTMTagger(5, 7, 12, 4)
sent = np.zeros((6, 3), np.int64); lens = [4, 6, 2]; tags = np.full((6, 3), -100)
for b, n in enumerate(lens):
    sent[:n, b] = rng.integers(1, 12, n); tags[:n, b] = rng.integers(0, 4, n)
def train_tagger(torch, model):
    loss_function = torch.nn.NLLLoss(ignore_index=-100)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    out = []
    for epoch in range(3):
        model.zero_grad()
        tag_scores, h, c = model(torch.tensor(sent), torch.tensor(lens))
        loss = loss_function(tag_scores.view(-1, 4), torch.tensor(tags).view(-1))
        loss.backward(); optimizer.step()
        out += [loss.detach(), h.detach(), c.detach()]
    with torch.no_grad():
        out.append(model(torch.tensor(sent), torch.tensor(lens))[0].argmax(-1))
    return out + [p.detach() for p in model.parameters()] + [p.grad for p in model.parameters()]


def test_tagger():
    _check(tagger, train_tagger)


# NTM (loudinthecloud/pytorch-ntm): memory, heads, LSTM controller
def ntm(torch):
    nn = torch.nn; F = torch.nn.functional
    def _convolve(w, s):
        assert s.size(0) == 3
        t = torch.cat([w[-1:], w, w[:1]])
        c = F.conv1d(t.view(1, 1, -1), s.view(1, 1, -1)).view(-1)
        return c
    class NTMMemory(nn.Module):
        def __init__(self, N, M):
            super(NTMMemory, self).__init__()
            self.N = N; self.M = M
            self.register_buffer('mem_bias', torch.Tensor(N, M))
            stdev = 1 / (np.sqrt(N + M))
            nn.init.uniform_(self.mem_bias, -stdev, stdev)
        def reset(self, batch_size):
            self.batch_size = batch_size
            self.memory = self.mem_bias.clone().repeat(batch_size, 1, 1)
        def size(self):
            return self.N, self.M
        def read(self, w):
            return torch.matmul(w.unsqueeze(1), self.memory).squeeze(1)
        def write(self, w, e, a):
            self.prev_mem = self.memory
            self.memory = torch.Tensor(self.batch_size, self.N, self.M)
            erase = torch.matmul(w.unsqueeze(-1), e.unsqueeze(1))
            add = torch.matmul(w.unsqueeze(-1), a.unsqueeze(1))
            self.memory = self.prev_mem * (1 - erase) + add
        def address(self, k, β, g, s, γ, w_prev):
            wc = self._similarity(k, β)
            wg = self._interpolate(w_prev, wc, g)
            ŵ = self._shift(wg, s)
            w = self._sharpen(ŵ, γ)
            return w
        def _similarity(self, k, β):
            k = k.view(self.batch_size, 1, -1)
            w = F.softmax(β * F.cosine_similarity(self.memory + 1e-16, k + 1e-16, dim=-1), dim=1)
            return w
        def _interpolate(self, w_prev, wc, g):
            return g * wc + (1 - g) * w_prev
        def _shift(self, wg, s):
            result = torch.zeros(wg.size())
            for b in range(self.batch_size):
                result[b] = _convolve(wg[b], s[b])
            return result
        def _sharpen(self, ŵ, γ):
            w = ŵ ** γ
            w = torch.div(w, torch.sum(w, dim=1).view(-1, 1) + 1e-16)
            return w
    def _split_cols(mat, lengths):
        assert mat.size()[1] == sum(lengths), "Lengths must be summed to num columns"
        l = np.cumsum([0] + lengths)
        results = []
        for s, e in zip(l[:-1], l[1:]):
            results += [mat[:, s:e]]
        return results
    class NTMHeadBase(nn.Module):
        def __init__(self, memory, controller_size):
            super(NTMHeadBase, self).__init__()
            self.memory = memory
            self.N, self.M = memory.size()
            self.controller_size = controller_size
        def _address_memory(self, k, β, g, s, γ, w_prev):
            k = k.clone()
            β = F.softplus(β)
            g = F.sigmoid(g)
            s = F.softmax(s, dim=1)
            γ = 1 + F.softplus(γ)
            w = self.memory.address(k, β, g, s, γ, w_prev)
            return w
    class NTMReadHead(NTMHeadBase):
        def __init__(self, memory, controller_size):
            super(NTMReadHead, self).__init__(memory, controller_size)
            self.read_lengths = [self.M, 1, 1, 3, 1]
            self.fc_read = nn.Linear(controller_size, sum(self.read_lengths))
            nn.init.xavier_uniform_(self.fc_read.weight, gain=1.4)
            nn.init.normal_(self.fc_read.bias, std=0.01)
        def create_new_state(self, batch_size):
            return torch.zeros(batch_size, self.N)
        def forward(self, embeddings, w_prev):
            o = self.fc_read(embeddings)
            k, β, g, s, γ = _split_cols(o, self.read_lengths)
            w = self._address_memory(k, β, g, s, γ, w_prev)
            r = self.memory.read(w)
            return r, w
    class NTMWriteHead(NTMHeadBase):
        def __init__(self, memory, controller_size):
            super(NTMWriteHead, self).__init__(memory, controller_size)
            self.write_lengths = [self.M, 1, 1, 3, 1, self.M, self.M]
            self.fc_write = nn.Linear(controller_size, sum(self.write_lengths))
            nn.init.xavier_uniform_(self.fc_write.weight, gain=1.4)
            nn.init.normal_(self.fc_write.bias, std=0.01)
        def create_new_state(self, batch_size):
            return torch.zeros(batch_size, self.N)
        def forward(self, embeddings, w_prev):
            o = self.fc_write(embeddings)
            k, β, g, s, γ, e, a = _split_cols(o, self.write_lengths)
            e = F.sigmoid(e)
            w = self._address_memory(k, β, g, s, γ, w_prev)
            self.memory.write(w, e, a)
            return w
    class LSTMController(nn.Module):
        def __init__(self, num_inputs, num_outputs, num_layers):
            super(LSTMController, self).__init__()
            self.num_inputs = num_inputs; self.num_outputs = num_outputs; self.num_layers = num_layers
            self.lstm = nn.LSTM(input_size=num_inputs, hidden_size=num_outputs, num_layers=num_layers)
            self.lstm_h_bias = nn.Parameter(torch.randn(self.num_layers, 1, self.num_outputs) * 0.05)
            self.lstm_c_bias = nn.Parameter(torch.randn(self.num_layers, 1, self.num_outputs) * 0.05)
        def create_new_state(self, batch_size):
            lstm_h = self.lstm_h_bias.clone().repeat(1, batch_size, 1)
            lstm_c = self.lstm_c_bias.clone().repeat(1, batch_size, 1)
            return lstm_h, lstm_c
        def size(self):
            return self.num_inputs, self.num_outputs
        def forward(self, x, prev_state):
            x = x.unsqueeze(0)
            outp, state = self.lstm(x, prev_state)
            return outp.squeeze(0), state
    class NTM(nn.Module):
        def __init__(self, num_inputs, num_outputs, controller, memory, heads):
            super(NTM, self).__init__()
            self.num_inputs = num_inputs; self.num_outputs = num_outputs
            self.controller = controller; self.memory = memory; self.heads = heads
            self.N, self.M = memory.size()
            _, self.controller_size = controller.size()
            self.num_read_heads = 0
            self.init_r = []
            for head in heads:
                if head.is_read_head() if hasattr(head, 'is_read_head') else isinstance(head, NTMReadHead):
                    init_r_bias = torch.randn(1, self.M) * 0.01
                    self.register_buffer("read{}_bias".format(self.num_read_heads), init_r_bias.data)
                    self.init_r += [init_r_bias]
                    self.num_read_heads += 1
            self.fc = nn.Linear(self.controller_size + self.num_read_heads * self.M, num_outputs)
            nn.init.xavier_uniform_(self.fc.weight, gain=1)
            nn.init.normal_(self.fc.bias, std=0.01)
        def create_new_state(self, batch_size):
            init_r = [getattr(self, "read{}_bias".format(i)).clone().repeat(batch_size, 1)
                      for i in range(self.num_read_heads)]
            controller_state = self.controller.create_new_state(batch_size)
            heads_state = [head.create_new_state(batch_size) for head in self.heads]
            return init_r, controller_state, heads_state
        def forward(self, x, prev_state):
            prev_reads, prev_controller_state, prev_heads_states = prev_state
            inp = torch.cat([x] + prev_reads, dim=1)
            controller_outp, controller_state = self.controller(inp, prev_controller_state)
            reads = []; heads_states = []
            for head, prev_head_state in zip(self.heads, prev_heads_states):
                if isinstance(head, NTMReadHead):
                    r, head_state = head(controller_outp, prev_head_state)
                    reads += [r]
                else:
                    head_state = head(controller_outp, prev_head_state)
                heads_states += [head_state]
            inp2 = torch.cat([controller_outp] + reads, dim=1)
            o = F.sigmoid(self.fc(inp2))
            state = (reads, controller_state, heads_states)
            return o, state
    class EncapsulatedNTM(nn.Module):
        def __init__(self, num_inputs, num_outputs, controller_size, controller_layers, num_heads, N, M):
            super(EncapsulatedNTM, self).__init__()
            self.num_inputs = num_inputs; self.num_outputs = num_outputs
            memory = NTMMemory(N, M)
            controller = LSTMController(num_inputs + M * num_heads, controller_size, controller_layers)
            heads = nn.ModuleList([])
            for i in range(num_heads):
                heads += [NTMReadHead(memory, controller_size), NTMWriteHead(memory, controller_size)]
            self.ntm = NTM(num_inputs, num_outputs, controller, memory, heads)
            self.memory = memory
        def init_sequence(self, batch_size):
            self.batch_size = batch_size
            self.memory.reset(batch_size)
            self.previous_state = self.ntm.create_new_state(batch_size)
        def forward(self, x=None):
            if x is None:
                x = torch.zeros(self.batch_size, self.num_inputs)
            o, self.previous_state = self.ntm(x, self.previous_state)
            return o, self.previous_state
    return EncapsulatedNTM(4, 3, 10, 1, 1, 6, 5)
seq = (rng.random((4, 2, 3)) > 0.5).astype(float)
inp = np.zeros((5, 2, 4)); inp[:4, :, :3] = seq; inp[4, :, 3] = 1.0
def train_ntm(torch, net):
    criterion = torch.nn.BCELoss()
    optimizer = torch.optim.RMSprop(net.parameters(), momentum=0.9, alpha=0.95, lr=1e-4)
    X, Y = torch.from_numpy(inp), torch.from_numpy(seq)
    out = []
    for _ in range(2):
        optimizer.zero_grad()
        inp_seq_len = X.size(0); outp_seq_len, batch_size, _ = Y.size()
        net.init_sequence(batch_size)
        for i in range(inp_seq_len):
            net(X[i])
        y_out = torch.zeros(Y.size())
        for i in range(outp_seq_len):
            y_out[i], _ = net()
        loss = criterion(y_out, Y)
        loss.backward()
        for p in net.parameters():
            p.grad.data.clamp_(-10, 10)
        optimizer.step()
        y_out_binarized = y_out.clone().data
        y_out_binarized.apply_(lambda x: 0 if x < 0.5 else 1)
        cost = torch.sum(torch.abs(y_out_binarized - Y.data))
        out += [loss.detach(), cost, y_out.detach(), net.memory.memory.detach()]
    return out + [p.detach() for p in net.parameters()]


def test_ntm():
    _check(ntm, train_ntm)


# Phased LSTM (Neil et al.), as in the "phased_lstm_pytorch" style: time gate with fmod, leak alpha
def phased(torch):
    nn = torch.nn
    class PhasedLSTMCell(nn.Module):
        def __init__(self, hidden_size, leak=0.001, ratio_on=0.05, period_init_min=1.0, period_init_max=1000.0):
            super().__init__()
            self.hidden_size = hidden_size
            self.ratio_on = ratio_on; self.leak = leak
            self.phase = nn.Parameter(torch.Tensor(hidden_size))
            self.tau = nn.Parameter(torch.Tensor(hidden_size))
            with torch.no_grad():
                self.tau.copy_(torch.exp(torch.empty(hidden_size).uniform_(math.log(period_init_min),
                                                                          math.log(period_init_max))))
                self.phase.copy_(torch.empty(hidden_size).uniform_(0, 1) * self.tau)
        def _compute_phi(self, t, s, tau):
            return torch.fmod(torch.fmod(t - s, tau) + tau, tau) / tau
        def _mod(self, x, y):
            return x - y * torch.div(x, y, rounding_mode='floor')
        def forward(self, h_s, c_s, t):
            phi = self._compute_phi(t, self.phase, self.tau)
            k_up = 2 * phi / self.ratio_on
            k_down = 2 - k_up
            k_closed = self.leak * phi
            k = torch.where(phi < self.ratio_on, k_down, k_closed)
            k = torch.where(phi < 0.5 * self.ratio_on, k_up, k)
            k = k.view(c_s.size(1), -1)
            c_s_new = k * c_s[1] + (1 - k) * c_s[0]
            h_s_new = k * h_s[1] + (1 - k) * h_s[0]
            return h_s_new, c_s_new
    class PhasedLSTM(nn.Module):
        def __init__(self, input_size, hidden_size, bidirectional=False):
            super().__init__()
            self.hidden_size = hidden_size
            self.lstm = nn.LSTMCell(input_size, hidden_size)
            self.phased_cell = PhasedLSTMCell(hidden_size, period_init_max=20.0, ratio_on=0.3)
        def forward(self, u_sequence, times):
            c_t = torch.zeros(u_sequence.size(0), self.hidden_size, dtype=u_sequence.dtype)
            h_t = torch.zeros(u_sequence.size(0), self.hidden_size, dtype=u_sequence.dtype)
            outputs = []
            for i in range(u_sequence.size(1)):
                u_t = u_sequence[:, i, :]
                t_t = times[:, i].unsqueeze(-1)
                c_s = [c_t, None]; h_s = [h_t, None]
                h_s[1], c_s[1] = self.lstm(u_t, (h_t, c_t))
                h_t, c_t = self.phased_cell(torch.stack(h_s), torch.stack(c_s), t_t)
                outputs.append(h_t)
            return torch.stack(outputs, 1)
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = PhasedLSTM(2, 6); self.fc = nn.Linear(6, 2)
        def forward(self, x, t):
            return self.fc(self.rnn(x, t)[:, -1])
    return Net()
xs = rng.standard_normal((3, 8, 2)); ts = np.cumsum(rng.uniform(0.1, 3, (3, 8)), 1); ys = np.array([0, 1, 1])
def train_phased(torch, m):
    opt = torch.optim.Adam(m.parameters(), lr=1e-2, amsgrad=True)
    out = []
    for _ in range(3):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(m(torch.tensor(xs), torch.tensor(ts)), torch.tensor(ys))
        loss.backward(); opt.step(); out.append(loss.detach())
    return out + [p.detach() for p in m.parameters()] + [p.grad for p in m.parameters()]


def test_phased():
    _check(phased, train_phased)


# Clockwork RNN (Koutnik et al.): modules updated when t % period == 0, block upper-triangular W_hh via mask
def clockwork(torch):
    nn = torch.nn
    class ClockworkRNN(nn.Module):
        def __init__(self, input_size, hidden_size, output_size, periods=(1, 2, 4, 8)):
            super().__init__()
            self.periods = list(periods); self.n = len(periods)
            self.hidden_size = hidden_size
            self.module_size = hidden_size // self.n
            self.W_in = nn.Linear(input_size, hidden_size)
            self.W_h = nn.Linear(hidden_size, hidden_size, bias=False)
            self.W_out = nn.Linear(hidden_size, output_size)
            mask = torch.zeros(hidden_size, hidden_size)
            for i in range(self.n):
                mask[i * self.module_size:(i + 1) * self.module_size, i * self.module_size:] = 1
            self.register_buffer("mask", mask)
            nn.init.orthogonal_(self.W_h.weight)
        def forward(self, x):
            B, T, _ = x.shape
            h = x.new_zeros(B, self.hidden_size)
            outputs = []
            periods = torch.tensor(self.periods).repeat_interleave(self.module_size)
            for t in range(T):
                active = (t % periods == 0).to(x.dtype).unsqueeze(0)
                h_new = torch.tanh(self.W_in(x[:, t]) + nn.functional.linear(h, self.W_h.weight * self.mask))
                h = active * h_new + (1 - active) * h
                outputs.append(self.W_out(h))
            return torch.stack(outputs, dim=1)
    return ClockworkRNN(1, 8, 1)
sig = np.sin(np.linspace(0, 6, 17))[None, :, None].repeat(2, 0) + rng.standard_normal((2, 17, 1)) * 0.1
def train_cw(torch, m):
    opt = torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.95)
    out = []
    for _ in range(3):
        opt.zero_grad()
        y = m(torch.tensor(sig[:, :-1]))
        loss = torch.nn.functional.mse_loss(y, torch.tensor(sig[:, 1:]))
        loss.backward(); opt.step(); out.append(loss.detach())
    return out + [p.detach() for p in m.parameters()]


def test_clockwork():
    _check(clockwork, train_cw)


# seq2seq with scheduled sampling (teacher forcing ratio) and beam search decode
SOS, EOS = 0, 1
def s2s(torch):
    nn = torch.nn; F = torch.nn.functional
    class Encoder(nn.Module):
        def __init__(self, input_dim, emb_dim, hid_dim, n_layers, dropout):
            super().__init__()
            self.embedding = nn.Embedding(input_dim, emb_dim)
            self.rnn = nn.LSTM(emb_dim, hid_dim, n_layers, dropout=dropout)
            self.dropout = nn.Dropout(dropout)
        def forward(self, src):
            embedded = self.dropout(self.embedding(src))
            outputs, (hidden, cell) = self.rnn(embedded)
            return hidden, cell
    class Decoder(nn.Module):
        def __init__(self, output_dim, emb_dim, hid_dim, n_layers, dropout):
            super().__init__()
            self.output_dim = output_dim
            self.embedding = nn.Embedding(output_dim, emb_dim)
            self.rnn = nn.LSTM(emb_dim, hid_dim, n_layers, dropout=dropout)
            self.fc_out = nn.Linear(hid_dim, output_dim)
            self.dropout = nn.Dropout(dropout)
        def forward(self, input, hidden, cell):
            input = input.unsqueeze(0)
            embedded = self.dropout(self.embedding(input))
            output, (hidden, cell) = self.rnn(embedded, (hidden, cell))
            prediction = self.fc_out(output.squeeze(0))
            return prediction, hidden, cell
    class Seq2Seq(nn.Module):
        def __init__(self, encoder, decoder):
            super().__init__()
            self.encoder = encoder; self.decoder = decoder
        def forward(self, src, trg, teacher_forcing_ratio=0.5, coins=None):
            batch_size = trg.shape[1]; trg_len = trg.shape[0]
            trg_vocab_size = self.decoder.output_dim
            outputs = torch.zeros(trg_len, batch_size, trg_vocab_size)
            hidden, cell = self.encoder(src)
            input = trg[0, :]
            for t in range(1, trg_len):
                output, hidden, cell = self.decoder(input, hidden, cell)
                outputs[t] = output
                teacher_force = coins[t] < teacher_forcing_ratio
                top1 = output.argmax(1)
                input = trg[t] if teacher_force else top1
            return outputs
        def beam_search(self, src, beam_width=3, max_len=6):
            hidden, cell = self.encoder(src.unsqueeze(1))
            beams = [(0.0, [SOS], hidden, cell)]
            for _ in range(max_len):
                candidates = []
                for score, seq, h, c in beams:
                    if seq[-1] == EOS:
                        candidates.append((score, seq, h, c)); continue
                    out, h2, c2 = self.decoder(torch.tensor([seq[-1]]), h, c)
                    logp = F.log_softmax(out, dim=-1).squeeze(0)
                    topv, topi = logp.topk(beam_width)
                    for v, i in zip(topv.tolist(), topi.tolist()):
                        candidates.append((score + v, seq + [i], h2, c2))
                beams = sorted(candidates, key=lambda x: x[0], reverse=True)[:beam_width]
            return [(s, q) for s, q, _, _ in beams]
    def init_weights(m):
        for name, param in m.named_parameters():
            nn.init.uniform_(param.data, -0.08, 0.08)
    model = Seq2Seq(Encoder(7, 5, 8, 2, 0.0), Decoder(9, 5, 8, 2, 0.0))
    model.apply(init_weights)
    return model
src = rng.integers(2, 7, (5, 3)); trg = np.vstack([np.zeros((1, 3), np.int64), rng.integers(1, 9, (5, 3))])
coins = np.random.default_rng(3).random((4, 6))
def train_s2s(torch, model):
    optimizer = torch.optim.Adam(model.parameters())
    criterion = torch.nn.CrossEntropyLoss(ignore_index=8)
    out = []
    for it in range(4):
        model.train(); optimizer.zero_grad()
        output = model(torch.tensor(src), torch.tensor(trg), 0.5, coins[it])
        output_dim = output.shape[-1]
        output = output[1:].view(-1, output_dim)
        t = torch.tensor(trg)[1:].view(-1)
        loss = criterion(output, t)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1)
        optimizer.step(); out.append(loss.item())
    model.eval()
    with torch.no_grad():
        beams = model.beam_search(torch.tensor(src[:, 0]))
    out += [b[0] for b in beams] + [b[1] for b in beams]
    return out + [p.detach() for p in model.parameters()]


def test_seq2seq():
    _check(s2s, train_s2s)


# character-level VAE (Bowman et al. style): GRU encoder, latent z, GRU decoder with word dropout, KL annealing
def charvae(torch):
    nn = torch.nn
    class RNNVAE(nn.Module):
        def __init__(self, vocab=12, emb=5, hid=8, z_dim=3):
            super().__init__()
            self.emb = nn.Embedding(vocab, emb, padding_idx=0)
            self.encoder = nn.GRU(emb, hid, batch_first=True, bidirectional=True)
            self.q_mu = nn.Linear(2 * hid, z_dim); self.q_logvar = nn.Linear(2 * hid, z_dim)
            self.z2h = nn.Linear(z_dim, hid)
            self.decoder = nn.GRU(emb + z_dim, hid, batch_first=True)
            self.out = nn.Linear(hid, vocab)
        def encode(self, x, lengths):
            packed = nn.utils.rnn.pack_padded_sequence(self.emb(x), lengths.cpu(), batch_first=True,
                                                       enforce_sorted=False)
            _, h = self.encoder(packed)
            h = torch.cat([h[-2], h[-1]], dim=1)
            return self.q_mu(h), self.q_logvar(h)
        def reparameterize(self, mu, logvar, eps):
            std = torch.exp(0.5 * logvar)
            return mu + eps * std
        def forward(self, x, lengths, eps):
            mu, logvar = self.encode(x, lengths)
            z = self.reparameterize(mu, logvar, eps)
            dec_in = self.emb(x[:, :-1])
            z_rep = z.unsqueeze(1).expand(-1, dec_in.size(1), -1)
            h0 = torch.tanh(self.z2h(z)).unsqueeze(0)
            out, _ = self.decoder(torch.cat([dec_in, z_rep], 2), h0)
            return self.out(out), mu, logvar
    return RNNVAE()
VX = np.zeros((3, 7), np.int64); VL = np.array([7, 4, 5])
for i, n in enumerate(VL): VX[i, :n] = rng.integers(1, 12, n)
EPS = rng.standard_normal((4, 3, 3))
def train_vae(torch, m):
    F = torch.nn.functional
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    out = []
    x, lengths = torch.from_numpy(VX), torch.from_numpy(VL)
    for step in range(4):
        logits, mu, logvar = m(x, lengths, torch.from_numpy(EPS[step]))
        recon = F.cross_entropy(logits.reshape(-1, logits.size(-1)), x[:, 1:].reshape(-1), ignore_index=0,
                                reduction='sum')
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
        p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
        kld2 = torch.distributions.kl_divergence(q, p).sum()
        beta = min(1.0, step / 2)
        loss = (recon + beta * kld) / x.size(0)
        opt.zero_grad(); loss.backward(); opt.step()
        out += [loss.detach(), kld2.detach() - kld.detach()]
    return out + [p.detach() for p in m.parameters()]


def test_charvae():
    _check(charvae, train_vae)


# truncated BPTT as pytorch/examples word_language_model (repackage_hidden), GRU + tied decoder
# + clip_grad_norm_ + manual SGD
def tbptt(torch):
    nn = torch.nn
    class RNNModel(nn.Module):
        def __init__(self, ntoken=15, ninp=6, nhid=6, nlayers=2):
            super().__init__()
            self.drop = nn.Dropout(0.0)
            self.encoder = nn.Embedding(ntoken, ninp)
            self.rnn = nn.GRU(ninp, nhid, nlayers, dropout=0.0)
            self.decoder = nn.Linear(nhid, ntoken)
            self.decoder.weight = self.encoder.weight
            self.nlayers, self.nhid = nlayers, nhid
            initrange = 0.1
            nn.init.uniform_(self.encoder.weight, -initrange, initrange)
            nn.init.zeros_(self.decoder.bias)
        def forward(self, input, hidden):
            emb = self.drop(self.encoder(input))
            output, hidden = self.rnn(emb, hidden)
            output = self.drop(output)
            decoded = self.decoder(output).view(-1, 15)
            return torch.nn.functional.log_softmax(decoded, dim=1), hidden
        def init_hidden(self, bsz):
            weight = next(self.parameters())
            return weight.new_zeros(self.nlayers, bsz, self.nhid)
    return RNNModel()
lm_stream = rng.integers(0, 15, 61)
def batchify(torch, data, bsz):
    nbatch = data.size(0) // bsz
    data = data.narrow(0, 0, nbatch * bsz)
    return data.view(bsz, -1).t().contiguous()
def repackage_hidden(torch, h):
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(torch, v) for v in h)
def get_batch(source, i, bptt=5):
    seq_len = min(bptt, len(source) - 1 - i)
    return source[i:i + seq_len], source[i + 1:i + 1 + seq_len].view(-1)
def train_tbptt(torch, model):
    train_data = batchify(torch, torch.tensor(lm_stream), 4)
    criterion = torch.nn.NLLLoss()
    lr, out = 5.0, []
    model.train()
    hidden = model.init_hidden(4)
    for batch, i in enumerate(range(0, train_data.size(0) - 1, 5)):
        data, targets = get_batch(train_data, i)
        model.zero_grad()
        hidden = repackage_hidden(torch, hidden)
        output, hidden = model(data, hidden)
        loss = criterion(output, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
        out.append(loss.item())
    with torch.no_grad():
        model.eval()
        hidden = model.init_hidden(4)
        total = 0.
        for i in range(0, train_data.size(0) - 1, 5):
            data, targets = get_batch(train_data, i)
            output, hidden = model(data, hidden)
            hidden = repackage_hidden(torch, hidden)
            total += len(data) * criterion(output, targets).item()
        out.append(total / (len(train_data) - 1))
    return out + [p.detach() for p in model.parameters()] + [hidden]


def test_tbptt():
    _check(tbptt, train_tbptt)


# WGAN-GP with an LSTM critic: gradient penalty through the (fused) LSTM
def critic(torch):
    nn = torch.nn
    class Critic(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(2, 6, batch_first=True, num_layers=2)
            self.fc = nn.Linear(6, 1)
        def forward(self, x):
            out, _ = self.lstm(x)
            return self.fc(out[:, -1])
    return Critic()
real = rng.standard_normal((4, 6, 2)); fake = rng.standard_normal((4, 6, 2)); alpha = rng.random((4, 1, 1))
def train_gp(torch, D):
    opt = torch.optim.Adam(D.parameters(), lr=1e-4, betas=(0.5, 0.9))
    out = []
    r, f = torch.from_numpy(real), torch.from_numpy(fake)
    for _ in range(2):
        opt.zero_grad()
        interpolates = (torch.from_numpy(alpha) * r + (1 - torch.from_numpy(alpha)) * f).requires_grad_(True)
        d_int = D(interpolates)
        gradients = torch.autograd.grad(outputs=d_int, inputs=interpolates, grad_outputs=torch.ones(d_int.size()),
                                        create_graph=True, retain_graph=True, only_inputs=True)[0]
        gradients = gradients.reshape(gradients.size(0), -1)
        gp = ((gradients.norm(2, dim=1) - 1) ** 2).mean() * 10
        loss = D(f).mean() - D(r).mean() + gp
        loss.backward(); opt.step()
        out += [loss.detach(), gp.detach()]
    return out + [p.detach() for p in D.parameters()]


def test_wgan_gp_lstm():
    _check(critic, train_gp)


# DNC memory (ixaxaar/pytorch-dnc style essentials): usage, allocation via sort + cumprod, link matrix, read modes
def dnc(torch):
    nn = torch.nn; F = torch.nn.functional
    δ = 1e-6
    class Memory(nn.Module):
        def __init__(self, input_size, mem_size=6, cell_size=4, read_heads=2):
            super().__init__()
            self.mem_size = mem_size; self.cell_size = cell_size; self.read_heads = read_heads
            self.input_size = input_size
            m, w, r = mem_size, cell_size, read_heads
            self.interface_size = (w * r) + (3 * w) + (5 * r) + 3
            self.interface_weights = nn.Linear(self.input_size, self.interface_size)
            self.I = 1 - torch.eye(m).unsqueeze(0)
        def reset(self, batch_size=1):
            m, w, r, b = self.mem_size, self.cell_size, self.read_heads, batch_size
            return {'memory': torch.zeros(b, m, w).fill_(0), 'link_matrix': torch.zeros(b, 1, m, m),
                    'precedence': torch.zeros(b, 1, m), 'read_weights': torch.zeros(b, r, m).fill_(0),
                    'write_weights': torch.zeros(b, 1, m).fill_(0), 'usage_vector': torch.zeros(b, m)}
        def get_usage_vector(self, usage, free_gates, read_weights, write_weights):
            usage = usage + (1 - usage) * (1 - torch.prod(1 - write_weights, 1))
            ψ = torch.prod(1 - free_gates.unsqueeze(2) * read_weights, 1)
            return usage * ψ
        def allocate(self, usage, write_gate):
            usage = δ + (1 - δ) * usage
            batch_size = usage.size(0)
            sorted_usage, φ = torch.topk(usage, self.mem_size, dim=1, largest=False)
            v = sorted_usage.data.new(batch_size, 1).fill_(1)
            cat_sorted_usage = torch.cat((v, sorted_usage), 1)
            prod_sorted_usage = torch.cumprod(cat_sorted_usage, 1)[:, :-1]
            sorted_allocation_weights = (1 - sorted_usage) * prod_sorted_usage.squeeze()
            _, φ_rev = torch.topk(φ, k=self.mem_size, dim=1, largest=False)
            allocation_weights = sorted_allocation_weights.gather(1, φ_rev.long())
            return allocation_weights.unsqueeze(1), usage
        def write_weighting(self, memory, write_content_weights, allocation_weights, write_gate, allocation_gate):
            ag = allocation_gate.unsqueeze(-1); wg = write_gate.unsqueeze(-1)
            return wg * (ag * allocation_weights + (1 - ag) * write_content_weights)
        def get_link_matrix(self, link_matrix, write_weights, precedence):
            precedence = precedence.unsqueeze(2)
            write_weights_i = write_weights.unsqueeze(3)
            write_weights_j = write_weights.unsqueeze(2)
            prev_scale = 1 - write_weights_i - write_weights_j
            new_link_matrix = write_weights_i * precedence
            link_matrix = prev_scale * link_matrix + new_link_matrix
            return self.I.expand_as(link_matrix) * link_matrix
        def update_precedence(self, precedence, write_weights):
            return (1 - torch.sum(write_weights, 2, keepdim=True)) * precedence + write_weights
        def write(self, write_key, write_vector, erase_vector, free_gates, read_strengths, write_strength,
                  write_gate, allocation_gate, hidden):
            hidden['usage_vector'] = self.get_usage_vector(hidden['usage_vector'], free_gates, hidden['read_weights'],
                                                           hidden['write_weights'])
            write_content_weights = self.content_weightings(hidden['memory'], write_key, write_strength)
            alloc, _ = self.allocate(hidden['usage_vector'], allocation_gate * write_gate)
            hidden['write_weights'] = self.write_weighting(hidden['memory'], write_content_weights, alloc,
                                                           write_gate, allocation_gate)
            weighted_resets = hidden['write_weights'].unsqueeze(3) * erase_vector.unsqueeze(2)
            reset_gate = torch.prod(1 - weighted_resets, 1)
            hidden['memory'] = hidden['memory'] * reset_gate
            hidden['memory'] = hidden['memory'] + torch.bmm(hidden['write_weights'].transpose(1, 2), write_vector)
            hidden['link_matrix'] = self.get_link_matrix(hidden['link_matrix'], hidden['write_weights'],
                                                         hidden['precedence'])
            hidden['precedence'] = self.update_precedence(hidden['precedence'], hidden['write_weights'])
            return hidden
        def content_weightings(self, memory, keys, strengths):
            d = torch.bmm(keys, memory.transpose(1, 2)) / (torch.norm(keys, 2, dim=2, keepdim=True)
                                                            * torch.norm(memory, 2, dim=2).unsqueeze(1) + δ)
            return F.softmax(d * strengths.unsqueeze(2), dim=2)
        def directional_weightings(self, link_matrix, read_weights):
            rw = read_weights.unsqueeze(1)
            f = torch.matmul(link_matrix, rw.transpose(2, 3)).transpose(2, 3)
            b = torch.matmul(rw, link_matrix)
            return f.transpose(1, 2), b.transpose(1, 2)
        def read_weightings(self, memory, content_weights, link_matrix, read_modes, read_weights):
            forward_weight, backward_weight = self.directional_weightings(link_matrix, read_weights)
            content_mode = read_modes[:, :, 2].contiguous().unsqueeze(2) * content_weights
            backward_mode = torch.sum(read_modes[:, :, 0:1].contiguous().unsqueeze(3) * backward_weight, 2)
            forward_mode = torch.sum(read_modes[:, :, 1:2].contiguous().unsqueeze(3) * forward_weight, 2)
            return backward_mode + content_mode + forward_mode
        def read(self, read_keys, read_strengths, read_modes, hidden):
            content_weights = self.content_weightings(hidden['memory'], read_keys, read_strengths)
            hidden['read_weights'] = self.read_weightings(hidden['memory'], content_weights, hidden['link_matrix'],
                                                          read_modes, hidden['read_weights'])
            return torch.bmm(hidden['read_weights'], hidden['memory']), hidden
        def forward(self, ξ, hidden):
            w, r = self.cell_size, self.read_heads
            b = ξ.size()[0]
            ξ = self.interface_weights(ξ)
            read_keys = torch.tanh(ξ[:, :r * w].contiguous().view(b, r, w))
            read_strengths = F.softplus(ξ[:, r * w:r * w + r].contiguous().view(b, r))
            write_key = torch.tanh(ξ[:, r * w + r:r * w + r + w].contiguous().view(b, 1, w))
            write_strength = F.softplus(ξ[:, r * w + r + w].contiguous().view(b, 1))
            erase_vector = torch.sigmoid(ξ[:, r * w + r + w + 1: r * w + r + 2 * w + 1].contiguous().view(b, 1, w))
            write_vector = torch.tanh(ξ[:, r * w + r + 2 * w + 1: r * w + r + 3 * w + 1].contiguous().view(b, 1, w))
            free_gates = torch.sigmoid(ξ[:, r * w + r + 3 * w + 1: r * w + 2 * r + 3 * w + 1].contiguous().view(b, r))
            allocation_gate = torch.sigmoid(ξ[:, r * w + 2 * r + 3 * w + 1].contiguous().unsqueeze(1).view(b, 1))
            write_gate = torch.sigmoid(ξ[:, r * w + 2 * r + 3 * w + 2].contiguous()).unsqueeze(1).view(b, 1)
            read_modes = F.softmax(
                ξ[:, r * w + 2 * r + 3 * w + 3: r * w + 5 * r + 3 * w + 3].contiguous().view(b, r, 3), -1)
            hidden = self.write(write_key, write_vector, erase_vector, free_gates, read_strengths, write_strength,
                                write_gate, allocation_gate, hidden)
            return self.read(read_keys, read_strengths, read_modes, hidden)
    class DNC(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTMCell(3 + 2 * 4, 10)
            self.memory = Memory(10)
            self.output = nn.Linear(10 + 2 * 4, 3)
        def forward(self, x):
            b = x.size(1)
            hidden = self.memory.reset(b)
            h = c = torch.zeros(b, 10)
            reads = torch.zeros(b, 8)
            outs = []
            for t in range(x.size(0)):
                h, c = self.rnn(torch.cat([x[t], reads], 1), (h, c))
                read_vectors, hidden = self.memory(h, hidden)
                reads = read_vectors.view(b, -1)
                outs.append(self.output(torch.cat([h, reads], 1)))
            return torch.stack(outs), hidden
    return DNC()
dx = rng.standard_normal((6, 2, 3))
def train_dnc(torch, m):
    opt = torch.optim.Adam(m.parameters(), lr=1e-3, eps=1e-9, betas=[0.9, 0.98])
    out = []
    for _ in range(2):
        opt.zero_grad()
        y, hid = m(torch.tensor(dx))
        loss = torch.nn.functional.smooth_l1_loss(y[1:], torch.tensor(dx[:-1]))
        loss.backward(); torch.nn.utils.clip_grad_norm_(m.parameters(), 50); opt.step()
        out += [loss.detach(), y.detach()]  # (not the memory: which of the equally unused slots is written first
    return out  # is topk's order of ties, torch's an implementation detail) + [p.detach() for p in m.parameters()]


def test_dnc():
    _check(dnc, train_dnc)


# Graves handwriting: LSTM + bivariate Gaussian mixture + Bernoulli end-of-stroke (MixtureSameFamily)
def mdn(torch):
    nn = torch.nn; F = torch.nn.functional
    class HandwritingRNN(nn.Module):
        def __init__(self, hidden=10, K=3):
            super().__init__()
            self.K = K
            self.lstm1 = nn.LSTM(3, hidden, batch_first=True)
            self.lstm2 = nn.LSTM(3 + hidden, hidden, batch_first=True)
            self.out = nn.Linear(2 * hidden, 1 + 6 * K)
        def forward(self, x, state=None):
            h1, s1 = self.lstm1(x)
            h2, s2 = self.lstm2(torch.cat([x, h1], -1))
            y = self.out(torch.cat([h1, h2], -1))
            e, pi, mu1, mu2, s1_, s2_, rho = torch.split(y, [1] + [self.K] * 6, dim=-1)
            return torch.sigmoid(e), F.log_softmax(pi, -1), mu1, mu2, torch.exp(s1_), torch.exp(s2_), torch.tanh(rho)
    return HandwritingRNN()
strokes = rng.standard_normal((2, 8, 3)); strokes[..., 2] = (rng.random((2, 8)) > 0.8)
def nll_bivariate(torch, params, target):
    D = torch.distributions
    e, logpi, mu1, mu2, s1, s2, rho = params
    loc = torch.stack([mu1, mu2], -1)
    cov = torch.stack([torch.stack([s1 ** 2, rho * s1 * s2], -1), torch.stack([rho * s1 * s2, s2 ** 2], -1)], -2)
    mix = D.MixtureSameFamily(D.Categorical(logits=logpi), D.MultivariateNormal(loc, covariance_matrix=cov))
    lp = mix.log_prob(target[..., :2])
    lp_e = D.Bernoulli(probs=e.squeeze(-1)).log_prob(target[..., 2])
    # the closed form of the paper as well
    x1, x2 = target[..., 0:1], target[..., 1:2]
    z = ((x1 - mu1) / s1) ** 2 + ((x2 - mu2) / s2) ** 2 - 2 * rho * (x1 - mu1) * (x2 - mu2) / (s1 * s2)
    n = torch.exp(-z / (2 * (1 - rho ** 2))) / (2 * math.pi * s1 * s2 * torch.sqrt(1 - rho ** 2))
    closed = torch.log(torch.sum(logpi.exp() * n, -1) + 1e-20)
    return -(lp + lp_e).mean(), closed, lp, mix.mean, mix.variance
def train_mdn(torch, m):
    opt = torch.optim.RMSprop(m.parameters(), lr=1e-3, alpha=0.95, eps=1e-4, momentum=0.9, centered=True)
    x = torch.tensor(strokes)
    out = []
    for _ in range(3):
        opt.zero_grad()
        loss, closed, lp, mean, var = nll_bivariate(torch, m(x[:, :-1]), x[:, 1:])
        loss.backward()
        torch.nn.utils.clip_grad_value_(m.parameters(), 10)
        opt.step()
        out += [loss.detach(), closed.detach(), lp.detach(), mean.detach(), var.detach()]
    return out + [p.detach() for p in m.parameters()]


def test_handwriting_mdn():
    _check(mdn, train_mdn)


# ON-LSTM (Shen et al.): cumax master gates, chunked
def onlstm(torch):
    nn = torch.nn; F = torch.nn.functional
    def cumsoftmax(x, dim=-1):
        return torch.cumsum(F.softmax(x, dim=dim), dim=dim)
    class ONLSTMCell(nn.Module):
        def __init__(self, input_size, hidden_size, chunk_size):
            super(ONLSTMCell, self).__init__()
            self.input_size = input_size; self.hidden_size = hidden_size; self.chunk_size = chunk_size
            self.n_chunk = int(hidden_size / chunk_size)
            self.ih = nn.Sequential(nn.Linear(input_size, hidden_size * 4 + self.n_chunk * 2, bias=True))
            self.hh = nn.Linear(hidden_size, hidden_size * 4 + self.n_chunk * 2, bias=True)
        def forward(self, input, hidden, transformed_input=None):
            hx, cx = hidden
            if transformed_input is None:
                transformed_input = self.ih(input)
            gates = transformed_input + self.hh(hx)
            cingate, cforgetgate = gates[:, :self.n_chunk * 2].chunk(2, 1)
            outgate, cell, ingate, forgetgate = gates[:, self.n_chunk * 2:].view(
                -1, self.n_chunk * 4, self.chunk_size).chunk(4, 1)
            cingate = 1. - cumsoftmax(cingate)
            cforgetgate = cumsoftmax(cforgetgate)
            distance_cforget = 1. - cforgetgate.sum(-1) / self.n_chunk
            distance_cin = cingate.sum(-1) / self.n_chunk
            cingate = cingate[:, :, None]
            cforgetgate = cforgetgate[:, :, None]
            ingate = F.sigmoid(ingate); forgetgate = F.sigmoid(forgetgate)
            cell = F.tanh(cell); outgate = F.sigmoid(outgate)
            overlap = cforgetgate * cingate
            forgetgate = forgetgate * overlap + (cforgetgate - overlap)
            ingate = ingate * overlap + (cingate - overlap)
            cy = forgetgate * cx + ingate * cell
            hy = outgate * F.tanh(cy)
            return hy.view(-1, self.hidden_size), cy, (distance_cforget, distance_cin)
        def init_hidden(self, bsz):
            weight = next(self.parameters()).data
            return (weight.new(bsz, self.hidden_size).zero_(), weight.new(bsz, self.n_chunk, self.chunk_size).zero_())
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 6); self.cell = ONLSTMCell(6, 8, 2); self.dec = nn.Linear(8, 10)
        def forward(self, input):
            length, batch_size = input.size()
            emb = self.emb(input)
            transformed_input = self.cell.ih(emb)
            hx, cx = self.cell.init_hidden(batch_size)
            outs, dists = [], []
            for t in range(length):
                hx, cx, d = self.cell(None, (hx, cx), transformed_input=transformed_input[t])
                outs.append(hx); dists.append(d[0])
            return self.dec(torch.stack(outs)), torch.stack(dists)
    return Net()
onl = rng.integers(0, 10, (7, 3))
def train_onl(torch, m):
    opt = torch.optim.ASGD(m.parameters(), lr=0.5, t0=0, lambd=0.)
    out = []
    d = torch.tensor(onl)
    for _ in range(3):
        opt.zero_grad()
        logits, dist = m(d[:-1])
        loss = torch.nn.functional.cross_entropy(logits.view(-1, 10), d[1:].reshape(-1))
        loss.backward(); opt.step()
        out += [loss.detach(), dist.detach()]
    state = [v for st in opt.state.values() for k, v in sorted(st.items()) if hasattr(v, 'detach')]
    return out + [p.detach() for p in m.parameters()] + state


def test_on_lstm():
    _check(onlstm, train_onl)


# LSTNet (Lai et al.)
def lstnet(torch):
    nn = torch.nn; F = torch.nn.functional
    class Model(nn.Module):
        def __init__(self, m=3, window=12, hidRNN=5, hidCNN=4, hidSkip=3, Ck=3, skip=4, hw=4):
            super(Model, self).__init__()
            self.P = window; self.m = m; self.hidR = hidRNN; self.hidC = hidCNN; self.hidS = hidSkip
            self.Ck = Ck; self.skip = skip
            self.pt = int((self.P - self.Ck) / self.skip)
            self.hw = hw
            self.conv1 = nn.Conv2d(1, self.hidC, kernel_size=(self.Ck, self.m))
            self.GRU1 = nn.GRU(self.hidC, self.hidR)
            self.dropout = nn.Dropout(p=0.0)
            if self.skip > 0:
                self.GRUskip = nn.GRU(self.hidC, self.hidS)
                self.linear1 = nn.Linear(self.hidR + self.skip * self.hidS, self.m)
            else:
                self.linear1 = nn.Linear(self.hidR, self.m)
            if self.hw > 0:
                self.highway = nn.Linear(self.hw, 1)
            self.output = F.sigmoid
        def forward(self, x):
            batch_size = x.size(0)
            c = x.view(-1, 1, self.P, self.m)
            c = F.relu(self.conv1(c))
            c = self.dropout(c)
            c = torch.squeeze(c, 3)
            r = c.permute(2, 0, 1).contiguous()
            _, r = self.GRU1(r)
            r = self.dropout(torch.squeeze(r, 0))
            if self.skip > 0:
                s = c[:, :, int(-self.pt * self.skip):].contiguous()
                s = s.view(batch_size, self.hidC, self.pt, self.skip)
                s = s.permute(2, 0, 3, 1).contiguous()
                s = s.view(self.pt, batch_size * self.skip, self.hidC)
                _, s = self.GRUskip(s)
                s = s.view(batch_size, self.skip * self.hidS)
                s = self.dropout(s)
                r = torch.cat((r, s), 1)
            res = self.linear1(r)
            if self.hw > 0:
                z = x[:, -self.hw:, :]
                z = z.permute(0, 2, 1).contiguous().view(-1, self.hw)
                z = self.highway(z)
                z = z.view(-1, self.m)
                res = res + z
            if self.output:
                res = self.output(res)
            return res
    return Model()
lx = rng.random((5, 12, 3)); ly = rng.random((5, 3))
def train_lstnet(torch, m):
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    crit = torch.nn.L1Loss(reduction='sum')
    out = []
    for _ in range(3):
        m.zero_grad()
        output = m(torch.tensor(lx))
        scale = torch.tensor(ly).abs().max(0)[0].expand(output.size(0), 3)
        loss = crit(output * scale, torch.tensor(ly) * scale)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 10.)
        opt.step(); out.append(loss.detach())
    # evaluate: rse, rae, correlation
    with torch.no_grad():
        predict = m(torch.tensor(lx)); Y = torch.tensor(ly)
        sigma_p = predict.std(dim=0); sigma_g = Y.std(dim=0)
        mean_p = predict.mean(dim=0); mean_g = Y.mean(dim=0)
        correlation = ((predict - mean_p) * (Y - mean_g)).mean(dim=0) / (sigma_p * sigma_g)
        out += [correlation, torch.var(Y, unbiased=False), torch.std_mean(Y, dim=0, correction=0)]
    return out + [p.detach() for p in m.parameters()]


def test_lstnet():
    _check(lstnet, train_lstnet)


# pytorch/benchmarks/fastrnns/custom_lstms.py (abridged): TorchScript modules (tg.jit passes them through)
def custom(torch):
    nn = torch.nn; jit = torch.jit; Parameter = nn.Parameter; Tensor = torch.Tensor
    def reverse(lst: List[Tensor]) -> List[Tensor]:
        return lst[::-1]
    class LSTMCell(jit.ScriptModule):
        def __init__(self, input_size, hidden_size):
            super().__init__()
            self.input_size = input_size; self.hidden_size = hidden_size
            self.weight_ih = Parameter(torch.randn(4 * hidden_size, input_size))
            self.weight_hh = Parameter(torch.randn(4 * hidden_size, hidden_size))
            self.bias_ih = Parameter(torch.randn(4 * hidden_size))
            self.bias_hh = Parameter(torch.randn(4 * hidden_size))
        @jit.script_method
        def forward(self, input: Tensor, state: Tuple[Tensor, Tensor]) -> Tuple[Tensor, Tuple[Tensor, Tensor]]:
            hx, cx = state
            gates = (torch.mm(input, self.weight_ih.t()) + self.bias_ih
                     + torch.mm(hx, self.weight_hh.t()) + self.bias_hh)
            ingate, forgetgate, cellgate, outgate = gates.chunk(4, 1)
            ingate = torch.sigmoid(ingate); forgetgate = torch.sigmoid(forgetgate)
            cellgate = torch.tanh(cellgate); outgate = torch.sigmoid(outgate)
            cy = (forgetgate * cx) + (ingate * cellgate)
            hy = outgate * torch.tanh(cy)
            return hy, (hy, cy)
    class LayerNorm(jit.ScriptModule):
        def __init__(self, normalized_shape):
            super().__init__()
            if isinstance(normalized_shape, numbers.Integral):
                normalized_shape = (normalized_shape,)
            normalized_shape = torch.Size(normalized_shape)
            self.weight = Parameter(torch.ones(normalized_shape))
            self.bias = Parameter(torch.zeros(normalized_shape))
            self.normalized_shape = normalized_shape
        @jit.script_method
        def compute_layernorm_stats(self, input):
            mu = input.mean(-1, keepdim=True)
            sigma = input.std(-1, keepdim=True, unbiased=False)
            return mu, sigma
        @jit.script_method
        def forward(self, input):
            mu, sigma = self.compute_layernorm_stats(input)
            return (input - mu) / sigma * self.weight + self.bias
    class LayerNormLSTMCell(jit.ScriptModule):
        def __init__(self, input_size, hidden_size, decompose_layernorm=False):
            super().__init__()
            self.input_size = input_size; self.hidden_size = hidden_size
            self.weight_ih = Parameter(torch.randn(4 * hidden_size, input_size))
            self.weight_hh = Parameter(torch.randn(4 * hidden_size, hidden_size))
            if decompose_layernorm:
                ln = LayerNorm
            else:
                ln = nn.LayerNorm
            self.layernorm_i = ln(4 * hidden_size)
            self.layernorm_h = ln(4 * hidden_size)
            self.layernorm_c = ln(hidden_size)
        @jit.script_method
        def forward(self, input: Tensor, state: Tuple[Tensor, Tensor]) -> Tuple[Tensor, Tuple[Tensor, Tensor]]:
            hx, cx = state
            igates = self.layernorm_i(torch.mm(input, self.weight_ih.t()))
            hgates = self.layernorm_h(torch.mm(hx, self.weight_hh.t()))
            gates = igates + hgates
            ingate, forgetgate, cellgate, outgate = gates.chunk(4, 1)
            ingate = torch.sigmoid(ingate); forgetgate = torch.sigmoid(forgetgate)
            cellgate = torch.tanh(cellgate); outgate = torch.sigmoid(outgate)
            cy = self.layernorm_c((forgetgate * cx) + (ingate * cellgate))
            hy = outgate * torch.tanh(cy)
            return hy, (hy, cy)
    class LSTMLayer(jit.ScriptModule):
        def __init__(self, cell, *cell_args):
            super().__init__()
            self.cell = cell(*cell_args)
        @jit.script_method
        def forward(self, input: Tensor, state: Tuple[Tensor, Tensor]) -> Tuple[Tensor, Tuple[Tensor, Tensor]]:
            inputs = input.unbind(0)
            outputs = torch.jit.annotate(List[Tensor], [])
            for i in range(len(inputs)):
                out, state = self.cell(inputs[i], state)
                outputs += [out]
            return torch.stack(outputs), state
    class ReverseLSTMLayer(jit.ScriptModule):
        def __init__(self, cell, *cell_args):
            super().__init__()
            self.cell = cell(*cell_args)
        @jit.script_method
        def forward(self, input: Tensor, state: Tuple[Tensor, Tensor]) -> Tuple[Tensor, Tuple[Tensor, Tensor]]:
            inputs = reverse(input.unbind(0))
            outputs = jit.annotate(List[Tensor], [])
            for i in range(len(inputs)):
                out, state = self.cell(inputs[i], state)
                outputs += [out]
            return torch.stack(reverse(outputs)), state
    class BidirLSTMLayer(jit.ScriptModule):
        __constants__ = ["directions"]
        def __init__(self, cell, *cell_args):
            super().__init__()
            self.directions = nn.ModuleList([LSTMLayer(cell, *cell_args), ReverseLSTMLayer(cell, *cell_args)])
        @jit.script_method
        def forward(self, input: Tensor,
                    states: List[Tuple[Tensor, Tensor]]) -> Tuple[Tensor, List[Tuple[Tensor, Tensor]]]:
            outputs = jit.annotate(List[Tensor], [])
            output_states = jit.annotate(List[Tuple[Tensor, Tensor]], [])
            i = 0
            for direction in self.directions:
                state = states[i]
                out, out_state = direction(input, state)
                outputs += [out]
                output_states += [out_state]
                i += 1
            return torch.cat(outputs, -1), output_states
    def init_stacked_lstm(num_layers, layer, first_layer_args, other_layer_args):
        layers = [layer(*first_layer_args)] + [layer(*other_layer_args) for _ in range(num_layers - 1)]
        return nn.ModuleList(layers)
    class StackedLSTM(jit.ScriptModule):
        __constants__ = ["layers"]
        def __init__(self, num_layers, layer, first_layer_args, other_layer_args):
            super().__init__()
            self.layers = init_stacked_lstm(num_layers, layer, first_layer_args, other_layer_args)
        @jit.script_method
        def forward(self, input: Tensor,
                    states: List[Tuple[Tensor, Tensor]]) -> Tuple[Tensor, List[Tuple[Tensor, Tensor]]]:
            output_states = jit.annotate(List[Tuple[Tensor, Tensor]], [])
            output = input
            i = 0
            for rnn_layer in self.layers:
                state = states[i]
                output, out_state = rnn_layer(output, state)
                output_states += [out_state]
                i += 1
            return output, output_states
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.bidir = BidirLSTMLayer(LayerNormLSTMCell, 3, 4, True)
            self.stack = StackedLSTM(2, LSTMLayer, first_layer_args=[LSTMCell, 8, 5], other_layer_args=[LSTMCell, 5, 5])
        def forward(self, x, states, states2):
            y, s = self.bidir(x, states)
            return self.stack(y, states2)
    return Net()
cx_ = rng.standard_normal((5, 2, 3))
def train_custom(torch, m):
    out = []
    opt = torch.optim.SGD(m.parameters(), lr=0.01)
    for _ in range(2):
        states = [(torch.ones(2, 4) * 0.2, torch.zeros(2, 4)) for _ in range(2)]
        states2 = [(torch.ones(2, 5) * 0.1, torch.zeros(2, 5)) for _ in range(2)]
        y, st = m(torch.tensor(cx_), states, states2)
        loss = y.pow(2).mean() + sum(h.sum() + c.sum() for h, c in st)
        opt.zero_grad(); loss.backward(); opt.step()
        out += [loss.detach(), y.detach()]
    return out + [p.detach() for p in m.parameters()]


def test_custom_lstms_torchscript_benchmark():
    _check(custom, train_custom)


# ----------------------------------------------------------------------------- MAML, spectral norm
def maml_cell(torch):
    return torch.nn.LSTMCell(3, 4)


maml_x = rng.standard_normal((4, 3))


def train_maml(torch, cell):
    """MAML's inner step through a (fused) LSTMCell: torch.func.grad of a functional_call, then the outer loss's
    backward through that gradient (double backward); vmap, jacrev and hessian of a hand-written cell."""
    params = {k: v for k, v in cell.named_parameters()}
    x = torch.tensor(maml_x)

    def loss_fn(p, x):
        h = c = torch.zeros(1, 4)
        for t in range(x.shape[0]):
            h, c = torch.func.functional_call(cell, p, (x[t:t + 1], (h, c)))
        return h.pow(2).sum()

    g = torch.func.grad(loss_fn)(params, x)
    fast = {k: v - 0.1 * g[k] for k, v in params.items()}
    outer = loss_fn(fast, x * 2)
    outer.backward()

    def mycell(p, xi, h):
        return torch.tanh(xi @ p["weight_ih"][:4].T + h @ p["weight_hh"][:4].T + p["bias_ih"][:4])
    per = torch.func.vmap(mycell, in_dims=(None, 0, 0))(params, x, torch.ones(4, 4))
    jac = torch.func.jacrev(mycell, argnums=1)(params, x[0], torch.ones(4))
    hes = torch.func.hessian(lambda xi: mycell(params, xi, torch.ones(4)).sum())(x[0])
    return [g[k] for k in sorted(g)] + [outer, per, jac, hes] + [p.grad for p in cell.parameters()]


def test_maml_inner_step_through_an_lstm_cell():
    _check(maml_cell, train_maml)


def sn_gru(torch):
    gru = torch.nn.GRU(3, 4, batch_first=True)
    gru = torch.nn.utils.parametrizations.weight_norm(gru, "weight_ih_l0")
    return torch.nn.utils.parametrizations.spectral_norm(gru, "weight_hh_l0")


def train_sn_gru(torch, rnn):
    x = torch.tensor(seqs_x)
    opt = torch.optim.Adam(rnn.parameters(), lr=0.01)
    out = []
    for _ in range(3):
        rnn.train()
        opt.zero_grad()
        y, h = rnn(x)
        (y.sum() + h.pow(2).sum()).backward()
        opt.step()
        out += [y, h, rnn.parametrizations.weight_hh_l0[0]._u]
    rnn.eval()
    return out + [rnn(x)[0]] + [p.detach() for p in rnn.parameters()]


seqs_x = rng.standard_normal((1, 4, 3))


def test_spectral_normed_gru():
    _check(sn_gru, train_sn_gru)
