"""Recurrent research programs, ported: each written once, as its authors write it against torch, as a function of
a module ``T`` (torch or tinygrad_rnn), run by both from the same initial weights (torch's, loaded into ours) and
data for a few steps in float64; losses, outputs, the recurrent weights' gradients after the unroll (BPTT through
the shared weights) and final weights agree to ~1e-10. Skipped without torch. Dropout masks, which the two
libraries would draw from different generators, come from one seeded numpy generator (``_Masks``): the program's
own mask-drawing call (``bernoulli_``, ``F.dropout``) is replaced by one that fills the same tensor from numpy,
the rest of the program kept as written.

Programs: salesforce/awd-lstm-lm (WeightDrop's DropConnect on weight_hh_l0 by deleting the parameter and setattr of
the dropped tensor, the flatten_parameters no-op, LockedDropout, embedded_dropout, LSTMs of different sizes,
SplitCrossEntropyLoss, AR / TAR, variable-length BPTT with the learning rate scaled, clip_grad_norm_, NT-ASGD's
switch from SGD to ASGD and the ``ax`` swap to evaluate; the repository's eval-mode WeightDrop failing in both);
the Mogrifier LSTM (Melis et al.); a Nested LSTM and an IndyLSTM cell; "Learning to learn by gradient descent by
gradient descent" (a coordinatewise two-layer LSTM optimizer with the log / sign gradient preprocessing, unrolled
on a quadratic, first order with detached gradients and second order with autograd.grad(create_graph=True)); a
HyperLSTM decoder in sketch-rnn with its bivariate-normal mixture loss on stroke-5 data; R2D2 / DRQN's recurrent
replay (stored states, burn-in under no_grad, value rescaling, n-step double-Q targets, smooth_l1_loss, target sync
by load_state_dict); GRU-D (decays toward the last observation and the empirical mean on missing values);
GRU-ODE-Bayes (a midpoint-rule GRU-ODE between observations, Bayesian jumps at them); coRNN, LEM, AntisymmetricRNN
and the Lipschitz RNN on the adding problem; dynamic evaluation (Krause et al.) of an LSTM language model; the Skip
RNN's straight-through update gate and Adaptive Computation Time's pondering loop; Recurrent Independent Mechanisms
(top-k units by input attention, blocked_grad, communication attention). (pytorch/benchmarks' LayerNormLSTMCell is
ported in test_ports_recurrent.py.)
"""
import math

import numpy as np
import pytest

import tinygrad_rnn as tg
from ports import compare as _compare, grads as _grads, load as _load, plain as _plain, rng as _rng, state as _state

pytestmark = pytest.mark.filterwarnings("ignore")


class _Masks:
    """Dropout masks drawn from one seeded numpy generator, so that torch's run and tg's see the same ones:
    ``bernoulli_(t, p)`` fills t in place with 0/1 draws of probability p (as ``t.bernoulli_(p)``) and returns it;
    ``dropout(T, x, p, training)`` is F.dropout with such a mask."""

    def __init__(self, seed=0):
        self.rng = np.random.default_rng(seed)
        self.drawn = 0

    def bernoulli_(self, T, t, p):
        draw = (self.rng.random(tuple(t.shape)) < p).astype(np.float64)
        self.drawn += 1
        with T.no_grad():
            t.copy_(T.from_numpy(draw))
        return t

    def dropout(self, T, x, p=0.5, training=True):
        if not training or p == 0:
            return x
        mask = self.bernoulli_(T, x.new_empty(x.shape), 1 - p)
        return x * mask / (1 - p)


# ------------------------------------------------------------------------------------------------------- the programs
def awd_lstm(T, sd, corpus, val, seq_lens, switch_at, masks, eval_clone=True):
    """salesforce/awd-lstm-lm: weight_drop.py, locked_dropout.py, embed_regularize.py, model.py, utils.py,
    splitcross.py (SplitCrossEntropyLoss, a head and a tail: a tombstone, masked_select, gather; its float32 sums) and
    main.py's train / evaluate / NT-ASGD, at toy sizes. With
    eval_clone, WeightDrop in eval mode sets a clone of the raw weight (fastai's fix): as written, F.dropout in eval
    mode returns the raw Parameter itself, setattr registers it as a parameter 'weight_hh_l0', and the next
    training forward's setattr of a Tensor raises TypeError (in torch >= 0.4, and in tg)."""
    nn = T.nn
    Parameter = nn.Parameter

    class WeightDrop(T.nn.Module):
        def __init__(self, module, weights, dropout=0, variational=False):
            super(WeightDrop, self).__init__()
            self.module = module
            self.weights = weights
            self.dropout = dropout
            self.variational = variational
            self._setup()

        def widget_demagnetizer_y2k_edition(*args, **kwargs):
            # We need to replace flatten_parameters with a nothing function
            return

        def _setup(self):
            # Terrible temporary solution to an issue regarding compacting weights re: CUDNN RNN
            if issubclass(type(self.module), T.nn.RNNBase):
                self.module.flatten_parameters = self.widget_demagnetizer_y2k_edition
            for name_w in self.weights:
                w = getattr(self.module, name_w)
                del self.module._parameters[name_w]
                self.module.register_parameter(name_w + '_raw', Parameter(w.data))

        def _setweights(self):
            for name_w in self.weights:
                raw_w = getattr(self.module, name_w + '_raw')
                w = None
                if self.variational:
                    mask = T.ones(raw_w.size(0), 1)
                    mask = masks.dropout(T, mask, p=self.dropout, training=True)
                    w = mask.expand_as(raw_w) * raw_w
                else:
                    w = masks.dropout(T, raw_w, p=self.dropout, training=self.training)
                    if eval_clone and not self.training:
                        w = raw_w.clone()
                setattr(self.module, name_w, w)

        def forward(self, *args):
            self._setweights()
            return self.module.forward(*args)

    class LockedDropout(nn.Module):
        def __init__(self):
            super().__init__()

        def forward(self, x, dropout=0.5):
            if not self.training or not dropout:
                return x
            m = masks.bernoulli_(T, x.data.new(1, x.size(1), x.size(2)), 1 - dropout)
            mask = m.requires_grad_(False) / (1 - dropout)
            mask = mask.expand_as(x)
            return mask * x

    def embedded_dropout(embed, words, dropout=0.1, scale=None):
        if dropout:
            mask = masks.bernoulli_(T, embed.weight.data.new().resize_((embed.weight.size(0), 1)), 1 - dropout)
            mask = mask.expand_as(embed.weight) / (1 - dropout)
            masked_embed_weight = mask * embed.weight
        else:
            masked_embed_weight = embed.weight
        if scale:
            masked_embed_weight = scale.expand_as(masked_embed_weight) * masked_embed_weight
        padding_idx = embed.padding_idx
        if padding_idx is None:
            padding_idx = -1  # (the repository's: the last word's row then gets no gradient)
        X = T.nn.functional.embedding(words, masked_embed_weight, padding_idx, embed.max_norm, embed.norm_type,
                                      embed.scale_grad_by_freq, embed.sparse)
        return X

    class RNNModel(nn.Module):
        def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.5, dropouth=0.5, dropouti=0.5,
                     dropoute=0.1, wdrop=0, tie_weights=False):
            super(RNNModel, self).__init__()
            self.lockdrop = LockedDropout()
            self.idrop = nn.Dropout(dropouti)
            self.hdrop = nn.Dropout(dropouth)
            self.drop = nn.Dropout(dropout)
            self.encoder = nn.Embedding(ntoken, ninp)
            assert rnn_type in ['LSTM', 'QRNN', 'GRU'], 'RNN type is not supported'
            if rnn_type == 'LSTM':
                self.rnns = [T.nn.LSTM(ninp if l == 0 else nhid,
                                       nhid if l != nlayers - 1 else (ninp if tie_weights else nhid), 1, dropout=0)
                             for l in range(nlayers)]
                if wdrop:
                    self.rnns = [WeightDrop(rnn, ['weight_hh_l0'], dropout=wdrop) for rnn in self.rnns]
            self.rnns = T.nn.ModuleList(self.rnns)
            self.decoder = nn.Linear(nhid, ntoken)
            if tie_weights:
                self.decoder.weight = self.encoder.weight
            self.init_weights()
            self.rnn_type = rnn_type
            self.ninp = ninp
            self.nhid = nhid
            self.nlayers = nlayers
            self.dropout = dropout
            self.dropouti = dropouti
            self.dropouth = dropouth
            self.dropoute = dropoute
            self.tie_weights = tie_weights

        def init_weights(self):
            initrange = 0.1
            self.encoder.weight.data.uniform_(-initrange, initrange)
            self.decoder.bias.data.fill_(0)
            self.decoder.weight.data.uniform_(-initrange, initrange)

        def forward(self, input, hidden, return_h=False):
            emb = embedded_dropout(self.encoder, input, dropout=self.dropoute if self.training else 0)
            emb = self.lockdrop(emb, self.dropouti)
            raw_output = emb
            new_hidden = []
            raw_outputs = []
            outputs = []
            for l, rnn in enumerate(self.rnns):
                raw_output, new_h = rnn(raw_output, hidden[l])
                new_hidden.append(new_h)
                raw_outputs.append(raw_output)
                if l != self.nlayers - 1:
                    raw_output = self.lockdrop(raw_output, self.dropouth)
                    outputs.append(raw_output)
            hidden = new_hidden
            output = self.lockdrop(raw_output, self.dropout)
            outputs.append(output)
            result = output.view(output.size(0) * output.size(1), output.size(2))
            if return_h:
                return result, hidden, raw_outputs, outputs
            return result, hidden

        def init_hidden(self, bsz):
            weight = next(self.parameters()).data
            return [(weight.new(1, bsz, self.nhid if l != self.nlayers - 1 else
                                (self.ninp if self.tie_weights else self.nhid)).zero_(),
                     weight.new(1, bsz, self.nhid if l != self.nlayers - 1 else
                                (self.ninp if self.tie_weights else self.nhid)).zero_())
                    for l in range(self.nlayers)]

    class SplitCrossEntropyLoss(nn.Module):
        r'''SplitCrossEntropyLoss calculates an approximate softmax'''
        def __init__(self, hidden_size, splits, verbose=False):
            # We assume splits is [0, split1, split2, N] where N >= |V|
            # For example, a vocab of 1000 words may have splits [0] + [100, 500] + [inf]
            super(SplitCrossEntropyLoss, self).__init__()
            self.hidden_size = hidden_size
            self.splits = [0] + splits + [100 * 1000000]
            self.nsplits = len(self.splits) - 1
            self.verbose = verbose
            # Each of the splits that aren't in the head require a pretend token, we'll call them tombstones
            # The probability given to this tombstone is the probability of selecting an item from the represented
            # split
            if self.nsplits > 1:
                self.tail_vectors = nn.Parameter(T.zeros(self.nsplits - 1, hidden_size))
                self.tail_bias = nn.Parameter(T.zeros(self.nsplits - 1))

        def logprob(self, weight, bias, hiddens, splits=None, softmaxed_head_res=None, verbose=False):
            # First we perform the first softmax on the head vocabulary and the tombstones
            if softmaxed_head_res is None:
                start, end = self.splits[0], self.splits[1]
                head_weight = None if end - start == 0 else weight[start:end]
                head_bias = None if end - start == 0 else bias[start:end]
                # We only add the tombstones if we have more than one split
                if self.nsplits > 1:
                    head_weight = self.tail_vectors if head_weight is None else T.cat([head_weight,
                                                                                        self.tail_vectors])
                    head_bias = self.tail_bias if head_bias is None else T.cat([head_bias, self.tail_bias])
                # Perform the softmax calculation for the word vectors in the head for all splits
                # We need to guard against empty splits as torch.cat does not like random lists
                head_res = T.nn.functional.linear(hiddens, head_weight, bias=head_bias)
                softmaxed_head_res = T.nn.functional.log_softmax(head_res, dim=-1)
            if splits is None:
                splits = list(range(self.nsplits))
            results = []
            for idx in splits:
                # For those targets in the head (idx == 0) we only need to return their loss
                if idx == 0:
                    results.append(softmaxed_head_res[:, :-(self.nsplits - 1)])
                # If the target is in one of the splits, the probability is the p(tombstone) * p(word within
                # tombstone)
                else:
                    start, end = self.splits[idx], self.splits[idx + 1]
                    tail_weight = weight[start:end]
                    tail_bias = bias[start:end]
                    # Calculate the softmax for the words in the tombstone
                    tail_res = T.nn.functional.linear(hiddens, tail_weight, bias=tail_bias)
                    # Then we calculate p(tombstone) * p(word in tombstone)
                    # Adding is equivalent to multiplication in log space
                    head_entropy = (softmaxed_head_res[:, -idx]).contiguous()
                    tail_entropy = T.nn.functional.log_softmax(tail_res, dim=-1)
                    results.append(head_entropy.view(-1, 1) + tail_entropy)
            if len(results) > 1:
                return T.cat(results, dim=1)
            return results[0]

        def split_on_targets(self, hiddens, targets):
            # Split the targets into those in the head and in the tail
            split_targets = []
            split_hiddens = []
            # Determine to which split each element belongs (for each start split value, add 1 if equal or greater)
            # This is equally fast for smaller splits as method below but scales linearly
            # (with bool masks, as targets >= s gives since torch 1.2, mask + partial_mask is their or: with three
            # splits or more the later splits' targets land in split 1 and gather fails, in torch as in tg)
            mask = None
            for idx in range(1, self.nsplits):
                partial_mask = targets >= self.splits[idx]
                mask = mask + partial_mask if mask is not None else partial_mask
            for idx in range(self.nsplits):
                # If there are no splits, avoid costly masked select
                if self.nsplits == 1:
                    split_targets, split_hiddens = [targets], [hiddens]
                    continue
                # If all the words are covered by earlier targets, we have empties so later stages don't freak out
                if sum(len(t) for t in split_targets) == len(targets):
                    split_targets.append([])
                    split_hiddens.append([])
                    continue
                # Are you in our split?
                tmp_mask = mask == idx
                split_targets.append(T.masked_select(targets, tmp_mask))
                split_hiddens.append(hiddens.masked_select(tmp_mask.unsqueeze(1).expand_as(hiddens))
                                     .view(-1, hiddens.size(1)))
            return split_targets, split_hiddens

        def forward(self, weight, bias, hiddens, targets, verbose=False):
            total_loss = None
            if len(hiddens.size()) > 2:
                hiddens = hiddens.view(-1, hiddens.size(2))
            split_targets, split_hiddens = self.split_on_targets(hiddens, targets)
            # First we perform the first softmax on the head vocabulary and the tombstones
            start, end = self.splits[0], self.splits[1]
            head_weight = None if end - start == 0 else weight[start:end]
            head_bias = None if end - start == 0 else bias[start:end]
            # We only add the tombstones if we have more than one split
            if self.nsplits > 1:
                head_weight = self.tail_vectors if head_weight is None else T.cat([head_weight, self.tail_vectors])
                head_bias = self.tail_bias if head_bias is None else T.cat([head_bias, self.tail_bias])
            # Perform the softmax calculation for the word vectors in the head for all splits
            # We need to guard against empty splits as torch.cat does not like random lists
            combo = T.cat([split_hiddens[i] for i in range(self.nsplits) if len(split_hiddens[i])])
            all_head_res = T.nn.functional.linear(combo, head_weight, bias=head_bias)
            softmaxed_all_head_res = T.nn.functional.log_softmax(all_head_res, dim=-1)
            running_offset = 0
            for idx in range(self.nsplits):
                # If there are no targets for this split, continue
                if len(split_targets[idx]) == 0:
                    continue
                # For those targets in the head (idx == 0) we only need to return their loss
                if idx == 0:
                    softmaxed_head_res = softmaxed_all_head_res[running_offset:running_offset
                                                                + len(split_hiddens[idx])]
                    entropy = -T.gather(softmaxed_head_res, dim=1, index=split_targets[idx].view(-1, 1))
                # If the target is in one of the splits, the probability is the p(tombstone) * p(word within
                # tombstone)
                else:
                    softmaxed_head_res = softmaxed_all_head_res[running_offset:running_offset
                                                                + len(split_hiddens[idx])]
                    # Calculate the softmax for the words in the tombstone
                    tail_res = self.logprob(weight, bias, split_hiddens[idx], splits=[idx],
                                            softmaxed_head_res=softmaxed_head_res)
                    # Then we calculate p(tombstone) * p(word in tombstone)
                    # Adding is equivalent to multiplication in log space
                    head_entropy = softmaxed_head_res[:, -idx]
                    # All indices are shifted - if the first split handles [0,1,..,9] then [10,11,...] is [0,1,...]
                    indices = (split_targets[idx] - self.splits[idx]).view(-1, 1)
                    # Warning: if you don't squeeze, you get an N x 1 return, which acts oddly with broadcasting
                    tail_entropy = T.gather(T.nn.functional.log_softmax(tail_res, dim=-1), dim=1,
                                            index=indices).squeeze()
                    entropy = -(head_entropy + tail_entropy)
                running_offset += len(split_hiddens[idx])
                total_loss = entropy.float().sum() if total_loss is None else total_loss + entropy.float().sum()
            return (total_loss / len(targets)).type_as(weight)

    def repackage_hidden(h):
        if isinstance(h, T.Tensor):
            return h.detach()
        else:
            return tuple(repackage_hidden(v) for v in h)

    def batchify(data, bsz):
        nbatch = data.size(0) // bsz
        data = data.narrow(0, 0, nbatch * bsz)
        data = data.view(bsz, -1).t().contiguous()
        return data

    def get_batch(source, i, bptt, seq_len=None, evaluation=False):
        seq_len = min(seq_len if seq_len else bptt, len(source) - 1 - i)
        data = source[i:i + seq_len]
        target = source[i + 1:i + 1 + seq_len].view(-1)
        return data, target

    ntokens, bptt, batch_size, eval_batch_size = 11, 6, 3, 2
    model = RNNModel('LSTM', ntokens, 5, 7, 3, dropout=0.4, dropouth=0.25, dropouti=0.4, dropoute=0.1, wdrop=0.5,
                     tie_weights=True)
    criterion = SplitCrossEntropyLoss(5, splits=[6], verbose=False)
    if sd is None:
        return _state(model), _state(criterion)
    _load(T, model, sd[0])
    _load(T, criterion, sd[1])
    train_data = batchify(T.from_numpy(corpus), batch_size)
    val_data = batchify(T.from_numpy(val), eval_batch_size)
    params = list(model.parameters()) + list(criterion.parameters())
    lr, alpha, beta, clip, wdecay = 5.0, 2.0, 1.0, 0.25, 1.2e-6
    optimizer = T.optim.SGD(params, lr=lr, weight_decay=wdecay)
    out, f32 = [], []  # (f32: the losses, which SplitCrossEntropyLoss sums in float32)

    def evaluate(data_source, batch_size=10):
        model.eval()
        total_loss = 0
        hidden = model.init_hidden(batch_size)
        for i in range(0, data_source.size(0) - 1, bptt):
            data, targets = get_batch(data_source, i, bptt, evaluation=True)
            output, hidden = model(data, hidden)
            total_loss += len(data) * criterion(model.decoder.weight, model.decoder.bias, output, targets).data
            hidden = repackage_hidden(hidden)
        return total_loss.item() / len(data_source)

    def train(seq_lens):
        total_loss = 0
        hidden = model.init_hidden(batch_size)
        batch, i = 0, 0
        while i < train_data.size(0) - 1 - 1:
            seq_len = seq_lens[batch]
            lr2 = optimizer.param_groups[0]['lr']
            optimizer.param_groups[0]['lr'] = lr2 * seq_len / bptt
            model.train()
            data, targets = get_batch(train_data, i, bptt, seq_len=seq_len)
            hidden = repackage_hidden(hidden)
            optimizer.zero_grad()
            output, hidden, rnn_hs, dropped_rnn_hs = model(data, hidden, return_h=True)
            raw_loss = criterion(model.decoder.weight, model.decoder.bias, output, targets)
            loss = raw_loss
            # Activiation Regularization
            if alpha:
                loss = loss + sum(alpha * dropped_rnn_h.pow(2).mean() for dropped_rnn_h in dropped_rnn_hs[-1:])
            # Temporal Activation Regularization (slowness)
            if beta:
                loss = loss + sum(beta * (rnn_h[1:] - rnn_h[:-1]).pow(2).mean() for rnn_h in rnn_hs[-1:])
            loss.backward()
            out.extend([_grads(model), _grads(criterion)])
            f32.append(loss)
            if clip:
                out.append(T.nn.utils.clip_grad_norm_(params, clip))
            optimizer.step()
            total_loss += raw_loss.data
            optimizer.param_groups[0]['lr'] = lr2
            batch += 1
            i += seq_len
        f32.append(total_loss)

    for epoch in range(len(seq_lens)):
        train(seq_lens[epoch])
        if 't0' in optimizer.param_groups[0]:
            tmp = {}
            for prm in model.parameters():
                tmp[prm] = prm.data.clone()
                prm.data = optimizer.state[prm]['ax'].clone()
            f32.append(evaluate(val_data, eval_batch_size))
            out.append([optimizer.state[prm]['ax'] for prm in model.parameters()])
            for prm in model.parameters():
                prm.data = tmp[prm].clone()
        else:
            f32.append(evaluate(val_data, eval_batch_size))
            if epoch == switch_at:  # (main.py: when the validation loss stops improving for nonmono epochs)
                optimizer = T.optim.ASGD(model.parameters(), lr=lr, t0=0, lambd=0., weight_decay=wdecay)
    assert not isinstance(model.rnns[0].module.weight_hh_l0, T.nn.Parameter)
    assert 'weight_hh_l0' not in dict(model.named_parameters(recurse=True))
    out += [model.state_dict(), criterion.state_dict()]
    return out, f32


def test_awd_lstm_weight_drop_locked_dropout_ar_tar_nt_asgd(torch):
    rng = _rng()
    corpus, val = rng.integers(0, 11, 3 * 17), rng.integers(0, 11, 2 * 9)
    seq_lens = [[5, 7, 4], [6, 5, 5], [4, 8, 4]]
    sd = awd_lstm(torch, None, None, None, None, None, _Masks())
    ours = awd_lstm(tg, sd, corpus, val, seq_lens, 1, _Masks())
    theirs = awd_lstm(torch, sd, corpus, val, seq_lens, 1, _Masks())
    _compare(ours[0], theirs[0])
    _compare(ours[1], theirs[1], tol=1e-6)  # (float32 sums: torch's and numpy's orders differ by an ulp)
    for T in (tg, torch):  # (as written: the second epoch's training forward fails after an evaluation)
        with pytest.raises(TypeError, match="weight_hh_l0"):
            awd_lstm(T, sd, corpus, val, seq_lens, 1, _Masks(), eval_clone=False)


def mogrifier(T, sd, batches, masks):
    """The Mogrifier LSTM (Melis et al., ICLR 2020) as fawazsammani/mogrifier-lstm-pytorch writes it: nn.LSTMCell
    after `mogrify_steps` rounds in which x and h gate each other (x *= 2 sigmoid(Q h), h *= 2 sigmoid(R x)); two
    stacked cells in a word-level LM with tied embeddings, dropout between layers, a step loop over the sequence,
    Adam, clip_grad_norm_."""
    nn = T.nn
    F = nn.functional

    class MogrifierLSTMCell(nn.Module):
        def __init__(self, input_size, hidden_size, mogrify_steps):
            super(MogrifierLSTMCell, self).__init__()
            self.mogrify_steps = mogrify_steps
            self.lstm = nn.LSTMCell(input_size, hidden_size)
            self.mogrifier_list = nn.ModuleList([nn.Linear(hidden_size, input_size)])  # start with q
            for i in range(1, mogrify_steps):
                if i % 2 == 0:
                    self.mogrifier_list.extend([nn.Linear(hidden_size, input_size)])  # q
                else:
                    self.mogrifier_list.extend([nn.Linear(input_size, hidden_size)])  # r

        def mogrify(self, x, h):
            for i in range(self.mogrify_steps):
                if (i + 1) % 2 == 0:
                    h = (2 * T.sigmoid(self.mogrifier_list[i](x))) * h
                else:
                    x = (2 * T.sigmoid(self.mogrifier_list[i](h))) * x
            return x, h

        def forward(self, x, states):
            ht, ct = states
            x, ht = self.mogrify(x, ht)  # Note: This should be called every timestep
            ht, ct = self.lstm(x, (ht, ct))  # Note: This should be called every timestep
            return ht, ct

    class MogrifierLSTM(nn.Module):
        def __init__(self, input_size, hidden_size, mogrify_steps, vocab_size, tie_weights, dropout):
            super(MogrifierLSTM, self).__init__()
            self.embedding = nn.Embedding(vocab_size, input_size)
            self.mogrifier_lstm_layer1 = MogrifierLSTMCell(input_size, hidden_size, mogrify_steps)
            self.mogrifier_lstm_layer2 = MogrifierLSTMCell(hidden_size, hidden_size, mogrify_steps)
            self.fc = nn.Linear(hidden_size, vocab_size)
            self.drop = nn.Dropout(dropout)
            self.dropout = dropout
            if tie_weights:
                self.fc.weight = self.embedding.weight

        def forward(self, seq, max_len=10):
            embed = self.embedding(seq)
            batch_size = seq.shape[0]
            h1, c1 = [T.zeros(batch_size, self.mogrifier_lstm_layer1.lstm.hidden_size),
                      T.zeros(batch_size, self.mogrifier_lstm_layer1.lstm.hidden_size)]
            h2, c2 = [T.zeros(batch_size, self.mogrifier_lstm_layer2.lstm.hidden_size),
                      T.zeros(batch_size, self.mogrifier_lstm_layer2.lstm.hidden_size)]
            hidden_states = []
            outputs = []
            for step in range(max_len):
                x = masks.dropout(T, embed[:, step], self.dropout, self.training)
                h1, c1 = self.mogrifier_lstm_layer1(x, (h1, c1))
                h2, c2 = self.mogrifier_lstm_layer2(masks.dropout(T, h1, self.dropout, self.training), (h2, c2))
                out = self.fc(masks.dropout(T, h2, self.dropout, self.training))
                hidden_states.append(h2.unsqueeze(1))
                outputs.append(out.unsqueeze(1))
            hidden_states = T.cat(hidden_states, dim=1)  # (batch_size, max_len, hidden_size)
            outputs = T.cat(outputs, dim=1)  # (batch_size, max_len, vocab_size)
            return outputs, hidden_states

    model = MogrifierLSTM(6, 6, 5, 13, tie_weights=True, dropout=0.2)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.Adam(model.parameters(), lr=0.01)
    criterion = nn.CrossEntropyLoss()
    out = []
    model.train()
    for seq in batches:
        seq = T.from_numpy(seq)
        inp, target = seq[:, :-1], seq[:, 1:]
        outputs, hidden_states = model(inp, max_len=inp.size(1))
        loss = criterion(outputs.reshape(-1, outputs.size(-1)), target.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        out += [loss, hidden_states, _grads(model)]
        out.append(nn.utils.clip_grad_norm_(model.parameters(), 0.5))
        optimizer.step()
    model.eval()
    with T.no_grad():
        logits, _ = model(T.from_numpy(batches[0][:, :-1]), max_len=4)
        out.append(F.log_softmax(logits, dim=-1).argmax(-1))
    out.append(model.state_dict())
    return out


def test_mogrifier_lstm(torch):
    rng = _rng(1)
    batches = [rng.integers(0, 13, (3, 7)) for _ in range(3)]
    sd = mogrifier(torch, None, None, None)
    _compare(mogrifier(tg, sd, batches, _Masks(1)), mogrifier(torch, sd, batches, _Masks(1)))


def nested_indy(T, sd, xs, ys):
    """Nested LSTM (Moniz & Krueger, 2017): the outer cell's memory is an inner LSTM's output, the inner LSTM fed
    i * g as its input and f * c as its hidden state (depth 2, written as hannw/nlstm's cell); IndyLSTM (Gonnet &
    Deselaers, 2019): the recurrent weights diagonal, u * h by addcmul. Both unrolled over a sequence, a sequence
    classifier on the last state and a regression on all steps, RMSprop and a StepLR."""
    nn = T.nn
    F = nn.functional

    class NestedLSTMCell(nn.Module):
        def __init__(self, input_size, hidden_size, depth=2):
            super().__init__()
            self.input_size, self.hidden_size, self.depth = input_size, hidden_size, depth
            self.outer = nn.Linear(input_size + hidden_size, 4 * hidden_size)
            self.inner = nn.ModuleList([nn.Linear(2 * hidden_size, 4 * hidden_size) for _ in range(depth - 1)])
            self.reset_parameters()

        def reset_parameters(self):
            stdv = 1.0 / math.sqrt(self.hidden_size)
            for weight in self.parameters():
                nn.init.uniform_(weight, -stdv, stdv)
            with T.no_grad():  # (forget-gate bias 1, as the paper's TF code)
                for lin in [self.outer, *self.inner]:
                    lin.bias[self.hidden_size:2 * self.hidden_size].fill_(1.0)

        def forward(self, x, state):
            h, cs = state  # cs: one memory per depth
            gates = self.outer(T.cat([x, h], dim=1))
            i, f, g, o = gates.chunk(4, 1)
            inner_x, inner_h = T.sigmoid(i) * T.tanh(g), T.sigmoid(f) * cs[0]
            new_cs = []
            for d, lin in enumerate(self.inner):
                ii, ff, gg, oo = lin(T.cat([inner_x, inner_h], dim=1)).chunk(4, 1)
                c_inner = T.sigmoid(ff) * cs[d + 1] + T.sigmoid(ii) * gg  # (identity activation inside)
                inner_h = T.sigmoid(oo) * c_inner
                new_cs.append(c_inner)
            c = inner_h
            h = T.sigmoid(o) * T.tanh(c)
            return h, [c] + new_cs

    class IndyLSTMCell(nn.Module):
        def __init__(self, input_size, hidden_size):
            super().__init__()
            self.hidden_size = hidden_size
            self.weight_ih = nn.Parameter(T.empty(4 * hidden_size, input_size))
            self.weight_hh = nn.Parameter(T.empty(4 * hidden_size))  # (diagonal: one weight per unit and gate)
            self.bias = nn.Parameter(T.zeros(4 * hidden_size))
            nn.init.xavier_uniform_(self.weight_ih)
            nn.init.uniform_(self.weight_hh, -1.0, 1.0)

        def forward(self, x, state):
            h, c = state
            gates = T.addcmul(F.linear(x, self.weight_ih, self.bias), self.weight_hh, h.repeat(1, 4))
            i, f, g, o = gates.chunk(4, 1)
            c = T.sigmoid(f) * c + T.sigmoid(i) * T.tanh(g)
            h = T.sigmoid(o) * T.tanh(c)
            return h, c

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.nested = NestedLSTMCell(3, 5, depth=3)
            self.indy = IndyLSTMCell(5, 4)
            self.cls = nn.Linear(4, 2)
            self.reg = nn.Linear(4, 1)

        def forward(self, x):
            B = x.size(1)
            h = x.new_zeros(B, 5)
            cs = [x.new_zeros(B, 5) for _ in range(3)]
            h2, c2 = x.new_zeros(B, 4), x.new_zeros(B, 4)
            steps = []
            for x_t in x.unbind(0):
                h, cs = self.nested(x_t, (h, cs))
                h2, c2 = self.indy(h, (h2, c2))
                steps.append(h2)
            hs = T.stack(steps)
            return self.cls(hs[-1]), self.reg(hs).squeeze(-1)

    model = Net()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    opt = T.optim.RMSprop(model.parameters(), lr=0.01, alpha=0.9, momentum=0.5)
    sched = T.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    out = []
    for x, y in zip(xs, ys):
        x = T.from_numpy(x)
        logits, reg = model(x)
        loss = F.cross_entropy(logits, T.from_numpy(y)) + F.mse_loss(reg, x.sum(-1))
        opt.zero_grad()
        loss.backward()
        out += [loss, logits, reg, _grads(model)]
        opt.step()
        sched.step()
    out.append(model.state_dict())
    return out


def test_nested_lstm_and_indy_lstm(torch):
    rng = _rng(2)
    xs = [rng.standard_normal((6, 4, 3)) for _ in range(4)]
    ys = [rng.integers(0, 2, 4) for _ in range(4)]
    sd = nested_indy(torch, None, None, None)
    _compare(nested_indy(tg, sd, xs, ys), nested_indy(torch, sd, xs, ys))


def l2l(T, sd, W, y, second_order):
    """"Learning to learn by gradient descent by gradient descent" (Andrychowicz et al., 2016) as the PyTorch
    reimplementation of its quadratic experiment writes it: a coordinatewise two-layer LSTM optimizer (LSTMCells
    over the n_params coordinates as a batch) with the paper's Appendix A preprocessing (log|g| / p and sign(g), or
    -1 and e^p g for tiny gradients, written into a zeros tensor through boolean masks of column views), proposes
    updates for the optimizee's theta; the losses of `unroll` steps are summed and backpropagated to the optimizer
    through the optimizee's parameters (kept in the graph, retain_grad on the non-leaf thetas), the optimizee's
    gradients detached (detach_var) as in the paper; Adam on the optimizer. second_order: the optimizee's gradients
    by autograd.grad(create_graph=True), not detached, so the meta-gradient flows through them too."""
    nn = T.nn

    def w(v):
        return v  # (.cuda() when USE_CUDA)

    def detach_var(v):
        var = w(v.data.clone().requires_grad_(True))
        var.retain_grad()
        return var

    class QuadraticLoss:
        def __init__(self, **kwargs):
            self.W = w(T.from_numpy(W))
            self.y = w(T.from_numpy(y))

        def get_loss(self, theta):
            return T.sum((self.W.matmul(theta) - self.y) ** 2)

    class QuadOptimizee(nn.Module):
        def __init__(self, theta=None):
            super().__init__()
            if theta is None:
                self.theta = T.zeros(W.shape[1], requires_grad=True)
            else:
                self.theta = theta

        def forward(self, target):
            return target.get_loss(self.theta)

        def all_named_parameters(self):
            return [('theta', self.theta)]

    class Optimizer(nn.Module):
        def __init__(self, preproc=False, hidden_sz=20, preproc_factor=10.0):
            super().__init__()
            self.hidden_sz = hidden_sz
            if preproc:
                self.recurs = nn.LSTMCell(2, hidden_sz)
            else:
                self.recurs = nn.LSTMCell(1, hidden_sz)
            self.recurs2 = nn.LSTMCell(hidden_sz, hidden_sz)
            self.output = nn.Linear(hidden_sz, 1)
            self.preproc = preproc
            self.preproc_factor = preproc_factor
            self.preproc_threshold = np.exp(-preproc_factor)

        def forward(self, inp, hidden, cell):
            if self.preproc:
                # Implement preproc described in Appendix A
                if second_order:  # (differentiable: the same values by where, the graph kept)
                    keep = T.abs(inp) >= self.preproc_threshold
                    inp = T.cat([T.where(keep, T.log(T.abs(inp) + 1e-8) / self.preproc_factor, -T.ones_like(inp)),
                                 T.where(keep, T.sign(inp), float(np.exp(self.preproc_factor)) * inp)], 1)
                else:
                    # Note: we do all this work on tensors, which means the gradients won't propagate through inp.
                    inp = inp.data
                    inp2 = w(T.zeros(inp.size()[0], 2))
                    keep_grads = (T.abs(inp) >= self.preproc_threshold).squeeze()
                    inp2[:, 0][keep_grads] = (T.log(T.abs(inp[keep_grads]) + 1e-8) / self.preproc_factor).squeeze()
                    inp2[:, 1][keep_grads] = T.sign(inp[keep_grads]).squeeze()
                    inp2[:, 0][~keep_grads] = -1
                    inp2[:, 1][~keep_grads] = (float(np.exp(self.preproc_factor)) * inp[~keep_grads]).squeeze()
                    inp = w(inp2)
            hidden0, cell0 = self.recurs(inp, (hidden[0], cell[0]))
            hidden1, cell1 = self.recurs2(hidden0, (hidden[1], cell[1]))
            return self.output(hidden1), (hidden0, hidden1), (cell0, cell1)

    opt_net = w(Optimizer(preproc=True, hidden_sz=6))
    if sd is None:
        return _state(opt_net)
    _load(T, opt_net, sd)
    meta_opt = T.optim.Adam(opt_net.parameters(), lr=0.01)

    def do_fit(opt_net, meta_opt, target_cls, target_to_opt, unroll, optim_it, out_mul, should_train=True):
        if should_train:
            opt_net.train()
        else:
            opt_net.eval()
            unroll = 1
        target = target_cls(training=should_train)
        optimizee = w(target_to_opt())
        n_params = 0
        for name, p in optimizee.all_named_parameters():
            n_params += int(np.prod(p.size()))
        hidden_states = [w(T.zeros(n_params, opt_net.hidden_sz)) for _ in range(2)]
        cell_states = [w(T.zeros(n_params, opt_net.hidden_sz)) for _ in range(2)]
        all_losses_ever = []
        if should_train:
            meta_opt.zero_grad()
        all_losses = None
        for iteration in range(1, optim_it + 1):
            loss = optimizee(target)
            if all_losses is None:
                all_losses = loss
            else:
                all_losses += loss
            all_losses_ever.append(loss.data.cpu().numpy())
            if second_order:
                grads = T.autograd.grad(loss, [p for _, p in optimizee.all_named_parameters()],
                                        create_graph=should_train)
            else:
                loss.backward(retain_graph=should_train)
            offset = 0
            result_params = {}
            hidden_states2 = [w(T.zeros(n_params, opt_net.hidden_sz)) for _ in range(2)]
            cell_states2 = [w(T.zeros(n_params, opt_net.hidden_sz)) for _ in range(2)]
            for k, (name, p) in enumerate(optimizee.all_named_parameters()):
                cur_sz = int(np.prod(p.size()))
                # We do this so the gradients are disconnected from the graph but we still get gradients from the
                # rest
                if second_order:
                    gradients = grads[k].view(cur_sz, 1)
                else:
                    gradients = detach_var(p.grad.view(cur_sz, 1))
                updates, new_hidden, new_cell = opt_net(
                    gradients,
                    [h[offset:offset + cur_sz] for h in hidden_states],
                    [c[offset:offset + cur_sz] for c in cell_states]
                )
                for i in range(len(new_hidden)):
                    hidden_states2[i][offset:offset + cur_sz] = new_hidden[i]
                    cell_states2[i][offset:offset + cur_sz] = new_cell[i]
                result_params[name] = p + updates.view(*p.size()) * out_mul
                result_params[name].retain_grad()
                offset += cur_sz
            if iteration % unroll == 0:
                if should_train:
                    meta_opt.zero_grad()
                    all_losses.backward()
                    out.append(_grads(opt_net))
                    out.append([p.grad for _, p in optimizee.all_named_parameters()])
                    meta_opt.step()
                all_losses = None
                optimizee = w(target_to_opt(**{k: detach_var(v) for k, v in result_params.items()}))
                hidden_states = [detach_var(v) for v in hidden_states2]
                cell_states = [detach_var(v) for v in cell_states2]
            else:
                optimizee = w(target_to_opt(**result_params))
                assert len(list(optimizee.all_named_parameters()))
                hidden_states = hidden_states2
                cell_states = cell_states2
        return all_losses_ever

    out = []
    for epoch in range(2):
        out.append(do_fit(opt_net, meta_opt, QuadraticLoss, QuadOptimizee, 3, 6, 0.1, should_train=True))
    out.append(do_fit(opt_net, meta_opt, QuadraticLoss, QuadOptimizee, 3, 4, 0.1, should_train=False))
    out.append(opt_net.state_dict())
    return out


@pytest.mark.parametrize("second_order", [False, True])
def test_learning_to_learn_lstm_optimizer(torch, second_order):
    rng = _rng(3)
    W, y = rng.standard_normal((4, 3)), rng.standard_normal(4)
    W[:, 2] *= 1e-6  # (theta[2]'s gradient below the preprocessing's threshold e^-10 at first: the other branch)
    y[:] *= 1e-3
    sd = l2l(torch, None, None, None, second_order)
    _compare(l2l(tg, sd, W, y, second_order), l2l(torch, sd, W, y, second_order))


def sketch_hyper(T, sd, strokes, lengths, noises, masks):
    """sketch-rnn (alexis-jacq/Pytorch-Sketch-RNN) with magenta's HyperLSTM decoder (Ha et al., HyperNetworks): a
    small hyper LSTMCell reads [x, h] and its output gives, through an embedding, the scaling vectors of W_x x and
    W_h h for each gate and a bias, then layer_norm_all over the four gates, recurrent dropout on the candidate;
    the bidirectional encoder, z = mu + sigma N, the stroke-5 targets (make_target), the bivariate-normal mixture
    reconstruction loss and the pen-state loss, the KL term with eta annealing and KL_min (torch.max of a 0-d and a
    1-element tensor), F.softmax without dim (its implicit dim), clip_grad_norm, lr_decay of two Adam optimizers.
    (``inputs.float()`` of the repository dropped: the test runs in float64; torch.normal's noise from numpy.)"""
    nn = T.nn
    F = nn.functional

    class HParams():
        def __init__(self):
            self.enc_hidden_size = 4
            self.dec_hidden_size = 6
            self.hyper_num_units = 5
            self.hyper_embedding_size = 3
            self.Nz = 3
            self.M = 2
            self.dropout = 0.1
            self.batch_size = 3
            self.eta_min = 0.01
            self.R = 0.99995
            self.KL_min = 0.2
            self.wKL = 0.5
            self.lr = 0.001
            self.lr_decay = 0.9999
            self.min_lr = 0.00001
            self.grad_clip = 1.
    hp = HParams()
    Nmax = 5

    class HyperLSTMCell(nn.Module):
        """magenta/models/sketch_rnn/rnn.py's HyperLSTMCell, in PyTorch."""
        def __init__(self, input_size, num_units, hyper_num_units, hyper_embedding_size, forget_bias=1.0,
                     use_recurrent_dropout=True, dropout_keep_prob=0.9):
            super().__init__()
            self.num_units = num_units
            self.forget_bias = forget_bias
            self.use_recurrent_dropout, self.dropout_keep_prob = use_recurrent_dropout, dropout_keep_prob
            self.hyper_cell = nn.LSTMCell(input_size + num_units, hyper_num_units)
            self.W_xh = nn.Parameter(T.empty(input_size, 4 * num_units))
            self.W_hh = nn.Parameter(T.empty(num_units, 4 * num_units))
            self.bias = nn.Parameter(T.zeros(4 * num_units))
            nn.init.orthogonal_(self.W_xh)
            nn.init.orthogonal_(self.W_hh)
            # hyper_norm: z = W_z hyper_h + b_z (bias 1), alpha = W_alpha z (0.1 / embedding), alpha * layer
            self.hyper_z = nn.ModuleDict({k: nn.Linear(hyper_num_units, hyper_embedding_size)
                                          for k in ('ix', 'jx', 'fx', 'ox', 'ih', 'jh', 'fh', 'oh')})
            self.hyper_alpha = nn.ModuleDict({k: nn.Linear(hyper_embedding_size, num_units, bias=False)
                                              for k in self.hyper_z})
            # hyper_bias: z = W_z hyper_h (gaussian 0.01), beta = W_beta z (zeros)
            self.hyper_zb = nn.ModuleDict({k: nn.Linear(hyper_num_units, hyper_embedding_size, bias=False)
                                           for k in ('ib', 'jb', 'fb', 'ob')})
            self.hyper_beta = nn.ModuleDict({k: nn.Linear(hyper_embedding_size, num_units, bias=False)
                                             for k in self.hyper_zb})
            for k in self.hyper_z:
                nn.init.zeros_(self.hyper_z[k].weight)
                nn.init.ones_(self.hyper_z[k].bias)
                nn.init.constant_(self.hyper_alpha[k].weight, 0.1 / hyper_embedding_size)
            for k in self.hyper_zb:
                nn.init.normal_(self.hyper_zb[k].weight, std=0.01)
                nn.init.zeros_(self.hyper_beta[k].weight)
            self.ln_all_gamma = nn.Parameter(T.ones(4 * num_units))
            self.ln_all_beta = nn.Parameter(T.zeros(4 * num_units))
            self.ln_c = nn.LayerNorm(num_units)

        def hyper_norm(self, layer, hyper_output, name):
            return self.hyper_alpha[name](self.hyper_z[name](hyper_output)) * layer

        def hyper_bias(self, hyper_output, name):
            return self.hyper_beta[name](self.hyper_zb[name](hyper_output))

        def layer_norm_all(self, h, base):
            h_reshape = h.view(-1, base, self.num_units)
            h_reshape = F.layer_norm(h_reshape, (self.num_units,), eps=1e-3)
            return h_reshape.view(-1, base * self.num_units) * self.ln_all_gamma + self.ln_all_beta

        def forward(self, x, state):
            c, h, hyper_c, hyper_h = state
            hyper_h, hyper_c = self.hyper_cell(T.cat([x, h], 1), (hyper_h, hyper_c))
            xh = T.matmul(x, self.W_xh)
            hh = T.matmul(h, self.W_hh)
            ix, jx, fx, ox = T.split(xh, self.num_units, 1)
            ih, jh, fh, oh = T.split(hh, self.num_units, 1)
            ib, jb, fb, ob = T.split(self.bias, self.num_units, 0)
            i = self.hyper_norm(ix, hyper_h, 'ix') + self.hyper_norm(ih, hyper_h, 'ih') + ib + \
                self.hyper_bias(hyper_h, 'ib')
            j = self.hyper_norm(jx, hyper_h, 'jx') + self.hyper_norm(jh, hyper_h, 'jh') + jb + \
                self.hyper_bias(hyper_h, 'jb')
            f = self.hyper_norm(fx, hyper_h, 'fx') + self.hyper_norm(fh, hyper_h, 'fh') + fb + \
                self.hyper_bias(hyper_h, 'fb')
            o = self.hyper_norm(ox, hyper_h, 'ox') + self.hyper_norm(oh, hyper_h, 'oh') + ob + \
                self.hyper_bias(hyper_h, 'ob')
            concat = self.layer_norm_all(T.cat([i, j, f, o], 1), 4)
            i, j, f, o = T.split(concat, self.num_units, 1)
            g = T.tanh(j)
            if self.use_recurrent_dropout:
                g = masks.dropout(T, g, 1 - self.dropout_keep_prob, self.training)
            new_c = c * T.sigmoid(f + self.forget_bias) + T.sigmoid(i) * g
            new_h = T.tanh(self.ln_c(new_c)) * T.sigmoid(o)
            return new_h, (new_c, new_h, hyper_c, hyper_h)

    class EncoderRNN(nn.Module):
        def __init__(self):
            super(EncoderRNN, self).__init__()
            # bidirectional lstm:
            self.lstm = nn.LSTM(5, hp.enc_hidden_size, bidirectional=True)
            # create mu and sigma from lstm's last output:
            self.fc_mu = nn.Linear(2 * hp.enc_hidden_size, hp.Nz)
            self.fc_sigma = nn.Linear(2 * hp.enc_hidden_size, hp.Nz)
            # active dropout:
            self.train()

        def forward(self, inputs, batch_size, noise, hidden_cell=None):
            if hidden_cell is None:
                # then must init with zeros
                hidden = T.zeros(2, batch_size, hp.enc_hidden_size)
                cell = T.zeros(2, batch_size, hp.enc_hidden_size)
                hidden_cell = (hidden, cell)
            _, (hidden, cell) = self.lstm(inputs, hidden_cell)
            # hidden is (2, batch_size, hidden_size), we want (batch_size, 2*hidden_size):
            hidden_forward, hidden_backward = T.split(hidden, 1, 0)
            hidden_cat = T.cat([hidden_forward.squeeze(0), hidden_backward.squeeze(0)], 1)
            # mu and sigma:
            mu = self.fc_mu(hidden_cat)
            sigma_hat = self.fc_sigma(hidden_cat)
            sigma = T.exp(sigma_hat / 2.)
            # N ~ N(0,1)
            N = T.from_numpy(noise)
            z = mu + sigma * N
            # mu and sigma_hat are needed for LKL loss
            return z, mu, sigma_hat

    class DecoderRNN(nn.Module):
        def __init__(self):
            super(DecoderRNN, self).__init__()
            # to init hidden and cell from z:
            self.fc_hc = nn.Linear(hp.Nz, 2 * hp.dec_hidden_size)
            # unidirectional hyper lstm:
            self.cell = HyperLSTMCell(hp.Nz + 5, hp.dec_hidden_size, hp.hyper_num_units, hp.hyper_embedding_size)
            # create proba distribution parameters from hiddens:
            self.fc_params = nn.Linear(hp.dec_hidden_size, 6 * hp.M + 3)

        def forward(self, inputs, z, hidden_cell=None):
            if hidden_cell is None:
                # then we must init from z
                hidden, cell = T.split(T.tanh(self.fc_hc(z)), hp.dec_hidden_size, 1)
                B = inputs.size(1)
                hidden_cell = (cell.contiguous(), hidden.contiguous(), T.zeros(B, hp.hyper_num_units),
                               T.zeros(B, hp.hyper_num_units))
            outputs = []
            for x_t in inputs:
                h, hidden_cell = self.cell(x_t, hidden_cell)
                outputs.append(h)
            outputs = T.stack(outputs)
            hidden, cell = hidden_cell[1].unsqueeze(0), hidden_cell[0].unsqueeze(0)
            # in training we feed the lstm with the whole input in one shot
            # and use all outputs contained in 'outputs', while in generate
            # mode we just feed with the last generated sample:
            if self.training:
                y = self.fc_params(outputs.view(-1, hp.dec_hidden_size))
            else:
                y = self.fc_params(hidden.view(-1, hp.dec_hidden_size))
            # separate pen and mixture params:
            params = T.split(y, 6, 1)
            params_mixture = T.stack(params[:-1])  # trajectories
            params_pen = params[-1]  # pen up/down
            # identify mixture params:
            pi, mu_x, mu_y, sigma_x, sigma_y, rho_xy = T.split(params_mixture, 1, 2)
            # preprocess params::
            if self.training:
                len_out = Nmax + 1
            else:
                len_out = 1
            pi = F.softmax(pi.transpose(0, 1).squeeze()).view(len_out, -1, hp.M)
            sigma_x = T.exp(sigma_x.transpose(0, 1).squeeze()).view(len_out, -1, hp.M)
            sigma_y = T.exp(sigma_y.transpose(0, 1).squeeze()).view(len_out, -1, hp.M)
            rho_xy = T.tanh(rho_xy.transpose(0, 1).squeeze()).view(len_out, -1, hp.M)
            mu_x = mu_x.transpose(0, 1).squeeze().contiguous().view(len_out, -1, hp.M)
            mu_y = mu_y.transpose(0, 1).squeeze().contiguous().view(len_out, -1, hp.M)
            q = F.softmax(params_pen).view(len_out, -1, 3)
            return pi, mu_x, mu_y, sigma_x, sigma_y, rho_xy, q, hidden, cell

    class Model():
        def __init__(self):
            self.encoder = EncoderRNN()
            self.decoder = DecoderRNN()

        def start(self):
            self.encoder_optimizer = T.optim.Adam(self.encoder.parameters(), hp.lr)
            self.decoder_optimizer = T.optim.Adam(self.decoder.parameters(), hp.lr)
            self.eta_step = hp.eta_min

        def make_target(self, batch, lengths):
            eos = T.stack([T.Tensor([0, 0, 0, 0, 1])] * batch.size()[1]).unsqueeze(0)
            batch = T.cat([batch, eos], 0)
            mask = T.zeros(Nmax + 1, batch.size()[1])
            for indice, length in enumerate(lengths):
                mask[:length, indice] = 1
            dx = T.stack([batch.data[:, :, 0]] * hp.M, 2)
            dy = T.stack([batch.data[:, :, 1]] * hp.M, 2)
            p1 = batch.data[:, :, 2]
            p2 = batch.data[:, :, 3]
            p3 = batch.data[:, :, 4]
            p = T.stack([p1, p2, p3], 2)
            return mask, dx, dy, p

        def train(self, epoch, batch, lengths, noise):
            self.encoder.train()
            self.decoder.train()
            # encode:
            z, self.mu, self.sigma = self.encoder(batch, hp.batch_size, noise)
            # create start of sequence:
            sos = T.stack([T.Tensor([0, 0, 1, 0, 0])] * hp.batch_size).unsqueeze(0)
            # had sos at the begining of the batch:
            batch_init = T.cat([sos, batch], 0)
            # expend z to be ready to concatenate with inputs:
            z_stack = T.stack([z] * (Nmax + 1))
            # inputs is concatenation of z and batch_inputs
            inputs = T.cat([batch_init, z_stack], 2)
            # decode:
            self.pi, self.mu_x, self.mu_y, self.sigma_x, self.sigma_y, \
                self.rho_xy, self.q, _, _ = self.decoder(inputs, z)
            # prepare targets:
            mask, dx, dy, p = self.make_target(batch, lengths)
            # prepare optimizers:
            self.encoder_optimizer.zero_grad()
            self.decoder_optimizer.zero_grad()
            # update eta for LKL:
            self.eta_step = 1 - (1 - self.eta_step) * hp.R
            # compute losses:
            LKL = self.kullback_leibler_loss()
            LR = self.reconstruction_loss(mask, dx, dy, p, epoch)
            loss = LR + LKL
            # gradient step
            loss.backward()
            grads = [_grads(self.encoder), _grads(self.decoder)]
            # gradient cliping
            nn.utils.clip_grad_norm(self.encoder.parameters(), hp.grad_clip)
            nn.utils.clip_grad_norm(self.decoder.parameters(), hp.grad_clip)
            # optim step
            self.encoder_optimizer.step()
            self.decoder_optimizer.step()
            if epoch % 1 == 0:
                self.encoder_optimizer = lr_decay(self.encoder_optimizer)
                self.decoder_optimizer = lr_decay(self.decoder_optimizer)
            return [loss, LR, LKL, self.pi, self.q, self.rho_xy, grads]

        def bivariate_normal_pdf(self, dx, dy):
            z_x = ((dx - self.mu_x) / self.sigma_x) ** 2
            z_y = ((dy - self.mu_y) / self.sigma_y) ** 2
            z_xy = (dx - self.mu_x) * (dy - self.mu_y) / (self.sigma_x * self.sigma_y)
            z = z_x + z_y - 2 * self.rho_xy * z_xy
            exp = T.exp(-z / (2 * (1 - self.rho_xy ** 2)))
            norm = 2 * np.pi * self.sigma_x * self.sigma_y * T.sqrt(1 - self.rho_xy ** 2)
            return exp / norm

        def reconstruction_loss(self, mask, dx, dy, p, epoch):
            pdf = self.bivariate_normal_pdf(dx, dy)
            LS = -T.sum(mask * T.log(1e-5 + T.sum(self.pi * pdf, 2))) / float(Nmax * hp.batch_size)
            LP = -T.sum(p * T.log(self.q)) / float(Nmax * hp.batch_size)
            return LS + LP

        def kullback_leibler_loss(self):
            LKL = -0.5 * T.sum(1 + self.sigma - self.mu ** 2 - T.exp(self.sigma)) / float(hp.Nz * hp.batch_size)
            KL_min = T.Tensor([hp.KL_min]).detach()
            return hp.wKL * self.eta_step * T.max(LKL, KL_min)

    def lr_decay(optimizer):
        """Decay learning rate by a factor of lr_decay"""
        for param_group in optimizer.param_groups:
            if param_group['lr'] > hp.min_lr:
                param_group['lr'] *= hp.lr_decay
        return optimizer

    model = Model()
    if sd is None:
        return [_state(model.encoder), _state(model.decoder)]
    _load(T, model.encoder, sd[0])
    _load(T, model.decoder, sd[1])
    model.start()
    out = []
    for epoch, (batch, noise) in enumerate(zip(strokes, noises)):
        out.append(model.train(epoch, T.from_numpy(batch), lengths[epoch], noise))
    model.decoder.eval()
    with T.no_grad():
        z, _, _ = model.encoder(T.from_numpy(strokes[0]), hp.batch_size, noises[0])
        sos = T.Tensor([0, 0, 1, 0, 0]).view(1, 1, -1).repeat(1, hp.batch_size, 1)
        out.append(model.decoder(T.cat([sos, z.unsqueeze(0)], 2), z)[:7])
    out += [model.encoder.state_dict(), model.decoder.state_dict()]
    return out


def test_sketch_rnn_hyper_lstm_decoder_mixture_loss(torch):
    rng = _rng(4)
    strokes, lengths = [], []
    for _ in range(3):
        lens = rng.integers(2, 6, 3)
        lens[0] = 5
        batch = np.zeros((5, 3, 5))
        for b, n in enumerate(lens):
            batch[:n, b, :2] = rng.standard_normal((n, 2))
            pen = rng.integers(0, 2, n)
            batch[:n, b, 2], batch[:n, b, 3] = 1 - pen, pen
            batch[n - 1, b, 2:] = [0, 1, 0]
            batch[n:, b, 4] = 1
        strokes.append(batch)
        lengths.append(list(lens))
    noises = [rng.standard_normal((3, 3)) for _ in range(3)]
    sd = sketch_hyper(torch, None, None, None, None, None)
    _compare(sketch_hyper(tg, sd, strokes, lengths, noises, _Masks(4)),
             sketch_hyper(torch, sd, strokes, lengths, noises, _Masks(4)))


def r2d2(T, sd, env_obs, env_rewards, uniforms, samples):
    """R2D2 (Kapturowski et al., 2019) / DRQN's recurrent replay, as the PyTorch R2D2 implementations write it: an
    actor steps an LSTM Q-network one observation at a time under no_grad (epsilon-greedy from given uniforms) and
    stores overlapping sequences with the recurrent state at their start; the learner samples sequences, burns the
    stored state in under no_grad (online and target nets), unrolls the rest with grad, takes Q(s, a) by gather,
    the n-step double-Q target with the value rescaling h / h^-1, the elementwise smooth_l1_loss with the padded
    steps of short episodes zeroed in place (g6ling's ``td_error[idx][length - burn_in_length:][:] = 0``),
    importance weights, the mixed max/mean priorities, Adam with clip_grad_norm_, the target net synced by
    load_state_dict every few updates."""
    nn = T.nn
    F = nn.functional
    burn_in_length, learn_length, n_step, gamma, eta, sync_every = 2, 4, 2, 0.97, 0.9, 2
    sequence_length = burn_in_length + learn_length + n_step

    class R2D2(nn.Module):
        def __init__(self, num_inputs, num_outputs, hidden_size=6):
            super(R2D2, self).__init__()
            self.num_inputs = num_inputs
            self.num_outputs = num_outputs
            self.lstm = nn.LSTM(input_size=num_inputs, hidden_size=hidden_size, batch_first=True)
            self.fc1 = nn.Linear(hidden_size, 8)
            self.fc2 = nn.Linear(8, num_outputs)

        def forward(self, x, hidden=None):
            # x [batch_size, sequence_length, num_inputs]
            batch_size = x.size()[0]
            sequence_length = x.size()[1]
            out, hidden = self.lstm(x, hidden)
            out = F.relu(self.fc1(out))
            qvalue = self.fc2(out)
            qvalue = qvalue.view(batch_size, sequence_length, self.num_outputs)
            return qvalue, hidden

    def h(x, eps=1e-3):
        return T.sign(x) * (T.sqrt(T.abs(x) + 1) - 1) + eps * x

    def h_inv(x, eps=1e-3):
        return T.sign(x) * (((T.sqrt(1 + 4 * eps * (T.abs(x) + 1 + eps)) - 1) / (2 * eps)) ** 2 - 1)

    online_net, target_net = R2D2(3, 2), R2D2(3, 2)
    if sd is None:
        return _state(online_net)
    _load(T, online_net, sd)
    target_net.load_state_dict(online_net.state_dict())
    optimizer = T.optim.Adam(online_net.parameters(), lr=1e-2)
    out = []

    # the actor: one episode per row of env_obs, stepped one observation at a time, sequences stored with the
    # recurrent state at their start (zeros padding an episode shorter than a sequence)
    memory = []
    hidden_size = online_net.lstm.hidden_size
    for ep, (obs, rew) in enumerate(zip(env_obs, env_rewards)):
        hidden = (T.zeros(1, 1, hidden_size), T.zeros(1, 1, hidden_size))
        states, actions, hiddens = [], [], []
        for t in range(len(obs)):
            hiddens.append(T.stack([hidden[0].view(-1), hidden[1].view(-1)]))
            state = T.from_numpy(obs[t]).unsqueeze(0).unsqueeze(0)
            with T.no_grad():
                qvalue, hidden = online_net(state, hidden)
            if uniforms[ep][t] < 0.2:
                action = int(uniforms[ep][t] * 10) % 2
            else:
                _, action = T.max(qvalue, 2)
                action = action.item()
            states.append(obs[t])
            actions.append(action)
        length = len(obs)
        for start in range(0, max(1, length - burn_in_length - 1), learn_length):
            seq = slice(start, start + sequence_length)
            pad = sequence_length - len(states[seq])
            memory.append(dict(
                state=np.concatenate([np.stack(states[seq]), np.zeros((pad, 3))]),
                action=np.concatenate([np.array(actions[seq]), np.zeros(pad, dtype=np.int64)]),
                reward=np.concatenate([rew[seq], np.zeros(pad)]),
                done=np.concatenate([np.zeros(len(states[seq]) - 1), [1.0 if start + sequence_length >= length
                                                                      else 0.0], np.ones(pad)]),
                rnn_state=hiddens[start].detach().clone(),
                length=len(states[seq])))
    out.append([m['rnn_state'] for m in memory])

    for update, (idx, weights) in enumerate(samples):
        batch = [memory[i] for i in idx]
        states = T.from_numpy(np.stack([b['state'] for b in batch]))
        actions = T.from_numpy(np.stack([b['action'] for b in batch])).long()
        rewards = T.from_numpy(np.stack([b['reward'] for b in batch]))
        dones = T.from_numpy(np.stack([b['done'] for b in batch]))
        lengths = [b['length'] for b in batch]
        rnn_state = T.stack([b['rnn_state'] for b in batch])  # (batch, 2, hidden)
        [h0, c0] = rnn_state.transpose(0, 1)
        h0 = h0.unsqueeze(0).detach()
        c0 = c0.unsqueeze(0).detach()
        # burn-in: the stored state brought up to date, no gradient
        with T.no_grad():
            _, burn_online = online_net(states[:, :burn_in_length], (h0, c0))
            _, burn_target = target_net(states[:, :burn_in_length], (h0, c0))
        pred, _ = online_net(states[:, burn_in_length:], burn_online)
        with T.no_grad():
            next_pred, _ = target_net(states[:, burn_in_length:], burn_target)
        L = learn_length
        a = actions[:, burn_in_length:burn_in_length + L]
        q_taken = pred[:, :L].gather(2, a.unsqueeze(2)).squeeze(2)
        # n-step double Q: the online net picks, the target net evaluates, in the rescaled space
        next_online_action = pred[:, n_step:n_step + L].detach().max(2)[1]
        q_next = next_pred[:, n_step:n_step + L].gather(2, next_online_action.unsqueeze(2)).squeeze(2)
        G = T.zeros_like(q_next)
        not_done = T.ones_like(q_next)
        for k in range(n_step):
            r = rewards[:, burn_in_length + k:burn_in_length + k + L]
            G = G + (gamma ** k) * not_done * r
            not_done = not_done * (1 - dones[:, burn_in_length + k:burn_in_length + k + L])
        target = h(G + (gamma ** n_step) * not_done * h_inv(q_next))
        td_error = F.smooth_l1_loss(q_taken, target.detach(), reduction='none')
        for idx_, length in enumerate(lengths):
            td_error[idx_][length - burn_in_length:][:] = 0
        loss = (T.from_numpy(weights).unsqueeze(1) * td_error).mean()
        abs_td = (q_taken - target).abs().detach()
        priorities = eta * abs_td.max(dim=1)[0] + (1 - eta) * abs_td.mean(dim=1)
        optimizer.zero_grad()
        loss.backward()
        out += [loss, q_taken, target, priorities, _grads(online_net)]
        out.append(nn.utils.clip_grad_norm_(online_net.parameters(), 1.0))
        optimizer.step()
        if (update + 1) % sync_every == 0:
            target_net.load_state_dict(online_net.state_dict())
    out += [online_net.state_dict(), target_net.state_dict()]
    return out


def test_r2d2_recurrent_replay_burn_in_value_rescaling_double_q(torch):
    rng = _rng(5)
    lengths = [11, 7, 9]
    env_obs = [rng.standard_normal((n, 3)) for n in lengths]
    env_rewards = [rng.standard_normal(n) for n in lengths]
    uniforms = [rng.random(n) for n in lengths]
    sd = r2d2(torch, None, None, None, None, None)
    n_seq = len(r2d2(torch, sd, env_obs, env_rewards, uniforms, [])[0])
    samples = [(rng.integers(0, n_seq, 3), rng.random(3)) for _ in range(4)]
    _compare(r2d2(tg, sd, env_obs, env_rewards, uniforms, samples),
             r2d2(torch, sd, env_obs, env_rewards, uniforms, samples))


def grud(T, sd, inputs, labels, X_mean):
    """GRU-D (Che et al., 2018) as zhiyongc/GRU-D writes it: FilterLinear (a weight masked by a fixed identity
    filter), the input and hidden decays exp(-max(0, W delta + b)) toward the last observation and the empirical
    mean, the gates over [x, h, mask], the step loop building outputs by torch.cat, output_last; MSE training with
    RMSprop and the L1 metric, as its Train_Model."""
    nn = T.nn
    F = nn.functional
    Parameter = nn.Parameter

    class FilterLinear(nn.Module):
        def __init__(self, in_features, out_features, filter_square_matrix, bias=True):
            '''
            filter_square_matrix : filter square matrix, whose each elements is 0 or 1.
            '''
            super(FilterLinear, self).__init__()
            self.in_features = in_features
            self.out_features = out_features
            self.filter_square_matrix = None
            self.filter_square_matrix = filter_square_matrix.requires_grad_(False)
            self.weight = Parameter(T.Tensor(out_features, in_features))
            if bias:
                self.bias = Parameter(T.Tensor(out_features))
            else:
                self.register_parameter('bias', None)
            self.reset_parameters()

        def reset_parameters(self):
            stdv = 1. / math.sqrt(self.weight.size(1))
            self.weight.data.uniform_(-stdv, stdv)
            if self.bias is not None:
                self.bias.data.uniform_(-stdv, stdv)

        def forward(self, input):
            return F.linear(input, self.filter_square_matrix.mul(self.weight), self.bias)

    class GRUD(nn.Module):
        def __init__(self, input_size, hidden_size, X_mean, output_last=False):
            super(GRUD, self).__init__()
            self.hidden_size = hidden_size
            self.delta_size = input_size
            self.mask_size = input_size
            self.identity = T.eye(input_size)
            self.zeros = T.zeros(input_size)
            self.X_mean = T.Tensor(X_mean)
            self.zl = nn.Linear(input_size + hidden_size + self.mask_size, hidden_size)
            self.rl = nn.Linear(input_size + hidden_size + self.mask_size, hidden_size)
            self.hl = nn.Linear(input_size + hidden_size + self.mask_size, hidden_size)
            self.gamma_x_l = FilterLinear(self.delta_size, self.delta_size, self.identity)
            self.gamma_h_l = nn.Linear(self.delta_size, self.delta_size)
            self.output_last = output_last

        def step(self, x, x_last_obsv, x_mean, h, mask, delta):
            delta_x = T.exp(-T.max(self.zeros, self.gamma_x_l(delta)))
            delta_h = T.exp(-T.max(self.zeros, self.gamma_h_l(delta)))
            x = mask * x + (1 - mask) * (delta_x * x_last_obsv + (1 - delta_x) * x_mean)
            h = delta_h * h
            combined = T.cat((x, h, mask), 1)
            z = F.sigmoid(self.zl(combined))
            r = F.sigmoid(self.rl(combined))
            combined_r = T.cat((x, r * h, mask), 1)
            h_tilde = F.tanh(self.hl(combined_r))
            h = (1 - z) * h + z * h_tilde
            return h

        def forward(self, input):
            batch_size = input.size(0)
            step_size = input.size(2)
            Hidden_State = self.initHidden(batch_size)
            X = T.squeeze(input[:, 0, :, :])
            X_last_obsv = T.squeeze(input[:, 1, :, :])
            Mask = T.squeeze(input[:, 2, :, :])
            Delta = T.squeeze(input[:, 3, :, :])
            outputs = None
            for i in range(step_size):
                Hidden_State = self.step(T.squeeze(X[:, i:i + 1, :]),
                                         T.squeeze(X_last_obsv[:, i:i + 1, :]),
                                         T.squeeze(self.X_mean[:, i:i + 1, :]),
                                         Hidden_State,
                                         T.squeeze(Mask[:, i:i + 1, :]),
                                         T.squeeze(Delta[:, i:i + 1, :]))
                if outputs is None:
                    outputs = Hidden_State.unsqueeze(1)
                else:
                    outputs = T.cat((outputs, Hidden_State.unsqueeze(1)), 1)
            if self.output_last:
                return outputs[:, -1, :]
            else:
                return outputs

        def initHidden(self, batch_size):
            Hidden_State = T.zeros(batch_size, self.hidden_size)
            return Hidden_State

    model = GRUD(4, 4, X_mean, output_last=True)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    loss_MSE = T.nn.MSELoss()
    loss_L1 = T.nn.L1Loss()
    optimizer = T.optim.RMSprop(model.parameters(), lr=0.01)
    out = []
    for inp, lab in zip(inputs, labels):
        inputs_, labels_ = T.from_numpy(inp), T.from_numpy(lab)
        model.zero_grad()
        outputs = model(inputs_)
        loss_train = loss_MSE(T.squeeze(outputs), T.squeeze(labels_))
        optimizer.zero_grad()
        loss_train.backward()
        out += [loss_train, outputs, _grads(model)]
        optimizer.step()
        out.append(loss_L1(T.squeeze(model(inputs_)), T.squeeze(labels_)).data)
    out.append(model.state_dict())
    return out


def _grud_inputs(x, mask):
    """zhiyongc/GRU-D's PrepareDataset: (batch, 4, steps, features) of the values (0 where missing), the last
    observation carried forward, the mask and the time since the last observation (delta)."""
    B, S, D = x.shape
    x = np.where(mask == 1, x, 0.0)
    last = np.zeros_like(x)
    delta = np.zeros_like(x)
    for t in range(S):
        if t == 0:
            last[:, t] = x[:, t]
        else:
            last[:, t] = np.where(mask[:, t] == 1, x[:, t], last[:, t - 1])
            delta[:, t] = 1.0 + np.where(mask[:, t - 1] == 1, 0.0, delta[:, t - 1])
    return np.stack([x, last, mask, delta], 1)


def test_gru_d_decays_toward_the_mean_on_missing_values(torch):
    rng = _rng(6)
    inputs, labels = [], []
    for _ in range(3):
        x = rng.standard_normal((5, 6, 4))
        mask = (rng.random((5, 6, 4)) < 0.6).astype(float)
        mask[:, 0] = 1
        inputs.append(_grud_inputs(x, mask))
        labels.append(rng.standard_normal((5, 4)))
    X_mean = rng.standard_normal((1, 6, 4)) * 0.1
    sd = grud(torch, None, None, None, X_mean)
    _compare(grud(tg, sd, inputs, labels, X_mean), grud(torch, sd, inputs, labels, X_mean))


def gru_ode_bayes(T, sd, batches):
    """GRU-ODE-Bayes (De Brouwer et al., 2019) as edebrouwer/gru_ode_bayes writes it: FullGRUODECell's dh/dt =
    (1 - z)(u - h) integrated by the midpoint rule between observation times, GRUObservationCellLogvar's Bayesian
    jump at each observation time (the Gaussian negative log-likelihood of the observed dims, the prep layer by a
    batched matmul, relu_ in place, the GRUCell update written into a clone of h at the observed rows by index),
    compute_KL_loss against the observations, the covariates' initial state; Adam with weight decay."""
    nn = T.nn

    class FullGRUODECell(T.nn.Module):
        def __init__(self, input_size, hidden_size, bias=True):
            super().__init__()
            self.lin_xh = T.nn.Linear(input_size, hidden_size * 3, bias=bias)
            self.lin_hh = T.nn.Linear(hidden_size, hidden_size, bias=False)
            self.lin_hz = T.nn.Linear(hidden_size, hidden_size, bias=False)
            self.lin_hr = T.nn.Linear(hidden_size, hidden_size, bias=False)

        def forward(self, x, h):
            xr, xz, xh = T.chunk(self.lin_xh(x), 3, dim=1)
            r = T.sigmoid(xr + self.lin_hr(h))
            z = T.sigmoid(xz + self.lin_hz(h))
            u = T.tanh(xh + self.lin_hh(r * h))
            dh = (1 - z) * (u - h)
            return dh

    class GRUObservationCellLogvar(T.nn.Module):
        def __init__(self, input_size, hidden_size, prep_hidden, bias=True):
            super().__init__()
            self.gru_d = T.nn.GRUCell(prep_hidden * input_size, hidden_size, bias=bias)
            # prep layer and its initialization
            std = math.sqrt(2.0 / (4 + prep_hidden))
            self.w_prep = T.nn.Parameter(std * T.randn(input_size, 4, prep_hidden))
            self.bias_prep = T.nn.Parameter(0.1 + T.zeros(input_size, prep_hidden))
            self.input_size = input_size
            self.prep_hidden = prep_hidden

        def forward(self, h, p, X_obs, M_obs, i_obs):
            p_obs = p[i_obs]
            mean, logvar = T.chunk(p_obs, 2, dim=1)
            sigma = T.exp(0.5 * logvar)
            error = (X_obs - mean) / sigma
            # log normal loss, over all observations
            log_lik_c = np.log(np.sqrt(2 * np.pi))
            losses = 0.5 * ((T.pow(error, 2) + logvar + 2 * log_lik_c) * M_obs)
            assert losses.sum() == losses.sum()
            gru_input = T.stack([X_obs, mean, logvar, error], dim=2).unsqueeze(2)
            gru_input = T.matmul(gru_input, self.w_prep).squeeze(2) + self.bias_prep
            gru_input.relu_()
            # gru_input is (sample x feature x prep_hidden)
            gru_input = gru_input.permute(2, 0, 1)
            gru_input = (gru_input * M_obs).permute(1, 2, 0).contiguous().view(-1, self.prep_hidden * self.input_size)
            temp = h.clone()
            temp[i_obs] = self.gru_d(gru_input, h[i_obs])
            h = temp
            return h, losses

    def compute_KL_loss(p_obs, X_obs, M_obs, obs_noise_std=1e-2, logvar=True):
        obs_noise_std = T.tensor(obs_noise_std)
        if logvar:
            mean, var = T.chunk(p_obs, 2, dim=1)
            std = T.exp(0.5 * var)
        else:
            mean, var = T.chunk(p_obs, 2, dim=1)
            std = T.pow(T.abs(var) + 1e-5, 0.5)
        return (gaussian_KL(mu_1=mean, mu_2=X_obs, sigma_1=std, sigma_2=obs_noise_std) * M_obs).sum()

    def gaussian_KL(mu_1, mu_2, sigma_1, sigma_2):
        return (T.log(sigma_2) - T.log(sigma_1) + (T.pow(sigma_1, 2) + T.pow((mu_1 - mu_2), 2)) / (2 * sigma_2 ** 2)
                - 0.5)

    class NNFOwithBayesianJumps(T.nn.Module):
        def __init__(self, input_size, hidden_size, p_hidden, prep_hidden, bias=True, cov_size=1, cov_hidden=1,
                     logvar=True, mixing=1, dropout_rate=0, solver="euler", impute=True):
            super().__init__()
            self.impute = impute
            self.p_model = T.nn.Sequential(
                T.nn.Linear(hidden_size, p_hidden, bias=bias),
                T.nn.ReLU(),
                T.nn.Dropout(p=dropout_rate),
                T.nn.Linear(p_hidden, 2 * input_size, bias=bias),
            )
            self.gru_c = FullGRUODECell(2 * input_size, hidden_size, bias=bias)
            self.gru_obs = GRUObservationCellLogvar(input_size, hidden_size, prep_hidden, bias=bias)
            self.covariates_map = T.nn.Sequential(
                T.nn.Linear(cov_size, cov_hidden, bias=bias),
                T.nn.ReLU(),
                T.nn.Dropout(p=dropout_rate),
                T.nn.Linear(cov_hidden, hidden_size, bias=bias),
                T.nn.Tanh()
            )
            assert solver in ["euler", "midpoint"], "Solver must be either 'euler' or 'midpoint'."
            self.solver = solver
            self.input_size = input_size
            self.logvar = logvar
            self.mixing = mixing
            self.apply(self.init_weights)

        def init_weights(self, m):
            if type(m) == nn.Linear:
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    m.bias.data.fill_(0.05)

        def ode_step(self, h, p, delta_t, current_time):
            """Executes a single ODE step."""
            eval_times = T.tensor([0], dtype=T.float64)
            eval_ps = T.tensor([0], dtype=T.float32)
            if self.impute is False:
                p = T.zeros_like(p)
            if self.solver == "euler":
                h = h + delta_t * self.gru_c(p, h)
                p = self.p_model(h)
            elif self.solver == "midpoint":
                k = h + delta_t / 2 * self.gru_c(p, h)
                pk = self.p_model(k)
                h = h + delta_t * self.gru_c(pk, k)
                p = self.p_model(h)
            current_time += delta_t
            return h, p, current_time, eval_times, eval_ps

        def forward(self, times, time_ptr, X, M, obs_idx, delta_t, T_, cov, return_path=False):
            h = self.covariates_map(cov)
            p = self.p_model(h)
            current_time = 0.0
            counter = 0
            loss_1 = 0  # Pre-jump loss
            loss_2 = 0  # Post-jump loss (KL between p_updated and the actual sample)
            if return_path:
                path_t = [0]
                path_p = [p]
                path_h = [h]
            assert len(times) + 1 == len(time_ptr)
            assert (len(times) == 0) or (times[-1] <= T_)
            for i, obs_time in enumerate(times):
                # Propagation of the ODE until next observation
                while current_time < (obs_time - 0.001 * delta_t):  # 0.0001 delta_t used for numerical consistency.
                    h, p, current_time, eval_times, eval_ps = self.ode_step(h, p, delta_t, current_time)
                    counter += 1
                    if return_path:
                        path_t.append(current_time)
                        path_p.append(p)
                        path_h.append(h)
                # Reached an observation
                start = time_ptr[i]
                end = time_ptr[i + 1]
                X_obs = X[start:end]
                M_obs = M[start:end]
                i_obs = obs_idx[start:end]
                # Using GRUObservationCell to update h. Also updating p and loss
                h, losses = self.gru_obs(h, p, X_obs, M_obs, i_obs=i_obs)
                loss_1 = loss_1 + losses.sum()
                p = self.p_model(h)
                loss_2 = loss_2 + compute_KL_loss(p_obs=p[i_obs], X_obs=X_obs, M_obs=M_obs, logvar=self.logvar)
                if return_path:
                    path_t.append(obs_time)
                    path_p.append(p)
                    path_h.append(h)
            # after every observation has been processed, propagating until T
            while current_time < T_:
                h, p, current_time, eval_times, eval_ps = self.ode_step(h, p, delta_t, current_time)
                counter += 1
                if return_path:
                    path_t.append(current_time)
                    path_p.append(p)
                    path_h.append(h)
            loss = loss_1 + self.mixing * loss_2
            if return_path:
                return h, loss, np.array(path_t), T.stack(path_p), T.stack(path_h)
            return h, loss

    model = NNFOwithBayesianJumps(input_size=3, hidden_size=5, p_hidden=4, prep_hidden=2, cov_size=2,
                                  cov_hidden=3, mixing=0.1, solver="midpoint", impute=True)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.Adam(model.parameters(), lr=0.01, weight_decay=0.0005)
    out = []
    for b in batches:
        optimizer.zero_grad()
        hT, loss, path_t, path_p, path_h = model(
            b["times"], b["time_ptr"], T.from_numpy(b["X"]), T.from_numpy(b["M"]), T.from_numpy(b["obs_idx"]),
            delta_t=0.1, T_=1.0, cov=T.from_numpy(b["cov"]), return_path=True)
        loss = loss / b["cov"].shape[0]
        loss.backward()
        out += [loss, hT, path_t, path_p, path_h, _grads(model)]
        optimizer.step()
    out.append(model.state_dict())
    return out


def test_gru_ode_bayes_midpoint_ode_and_bayesian_jumps(torch):
    rng = _rng(7)
    batches = []
    for _ in range(2):
        times = np.array([0.25, 0.4, 0.75])
        obs_idx, ptr = [], [0]
        for _t in times:
            rows = np.sort(rng.choice(4, size=rng.integers(1, 4), replace=False))
            obs_idx.extend(rows)
            ptr.append(len(obs_idx))
        n = len(obs_idx)
        M = (rng.random((n, 3)) < 0.7).astype(float)
        M[:, 0] = 1
        batches.append(dict(times=times, time_ptr=np.array(ptr), X=rng.standard_normal((n, 3)) * M, M=M,
                            obs_idx=np.array(obs_idx), cov=rng.standard_normal((4, 2))))
    sd = gru_ode_bayes(torch, None, None)
    _compare(gru_ode_bayes(tg, sd, batches), gru_ode_bayes(torch, sd, batches))


def ode_cells(T, sd, batches):
    """ODE-inspired recurrent cells on the adding problem, as their authors' repositories write them: coRNN
    (tk-rusch/coRNN: a second-order oscillator, explicit Euler on (hy, hz)), LEM (tk-rusch/LEM: multiscale learned
    time steps), AntisymmetricRNN (Chang et al.: W - W^T - gamma I, Euler step) and the Lipschitz RNN (Erichson et
    al.: A = (1 - beta)(M + M^T) + beta (M - M^T) - gamma I); each unrolled over the sequence, read out from its
    last state, MSELoss, Adam; the cells' shared weights' gradients after the unroll compared."""
    nn = T.nn
    F = nn.functional

    class coRNNCell(nn.Module):
        def __init__(self, n_inp, n_hid, dt, gamma, epsilon):
            super(coRNNCell, self).__init__()
            self.dt = dt
            self.gamma = gamma
            self.epsilon = epsilon
            self.i2h = nn.Linear(n_inp + n_hid + n_hid, n_hid)

        def forward(self, x, hy, hz):
            hz = hz + self.dt * (T.tanh(self.i2h(T.cat((x, hz, hy), 1))) - self.gamma * hy - self.epsilon * hz)
            hy = hy + self.dt * hz
            return hy, hz

    class coRNN(nn.Module):
        def __init__(self, n_inp, n_hid, n_out, dt, gamma, epsilon):
            super(coRNN, self).__init__()
            self.n_hid = n_hid
            self.cell = coRNNCell(n_inp, n_hid, dt, gamma, epsilon)
            self.readout = nn.Linear(n_hid, n_out)

        def forward(self, x):
            # initialize hidden states
            hy = T.zeros(x.size(1), self.n_hid)
            hz = T.zeros(x.size(1), self.n_hid)
            for t in range(x.size(0)):
                hy, hz = self.cell(x[t], hy, hz)
            output = self.readout(hy)
            return output

    class LEMCell(nn.Module):
        def __init__(self, ninp, nhid, dt):
            super(LEMCell, self).__init__()
            self.ninp = ninp
            self.nhid = nhid
            self.dt = dt
            self.inp2hid = nn.Linear(ninp, 4 * nhid)
            self.hid2hid = nn.Linear(nhid, 3 * nhid)
            self.transform_z = nn.Linear(nhid, nhid)
            self.reset_parameters()

        def reset_parameters(self):
            std = 1.0 / math.sqrt(self.nhid)
            for w in self.parameters():
                w.data.uniform_(-std, std)

        def forward(self, x, y, z):
            transformed_inp = self.inp2hid(x)
            transformed_hid = self.hid2hid(y)
            i_dt1, i_dt2, i_z, i_y = transformed_inp.chunk(4, 1)
            h_dt1, h_dt2, h_y = transformed_hid.chunk(3, 1)
            ms_dt_bar = self.dt * T.sigmoid(i_dt1 + h_dt1)
            ms_dt = self.dt * T.sigmoid(i_dt2 + h_dt2)
            z = (1. - ms_dt) * z + ms_dt * T.tanh(i_y + h_y)
            y = (1. - ms_dt_bar) * y + ms_dt_bar * T.tanh(self.transform_z(z) + i_z)
            return y, z

    class LEM(nn.Module):
        def __init__(self, ninp, nhid, nout, dt=1.):
            super(LEM, self).__init__()
            self.nhid = nhid
            self.cell = LEMCell(ninp, nhid, dt)
            self.classifier = nn.Linear(nhid, nout)
            self.init_weights()

        def init_weights(self):
            for name, param in self.named_parameters():
                if 'classifier' in name and 'weight' in name:
                    nn.init.kaiming_normal_(param.data)

        def forward(self, input):
            # initialize hidden states
            y = input.data.new(input.size(1), self.nhid).zero_()
            z = input.data.new(input.size(1), self.nhid).zero_()
            for x in input:
                y, z = self.cell(x, y, z)
            out = self.classifier(y)
            return out

    class AntisymmetricRNNCell(nn.Module):
        def __init__(self, input_size, hidden_size, eps=0.1, gamma=0.01):
            super().__init__()
            self.eps, self.gamma = eps, gamma
            self.W = nn.Parameter(T.empty(hidden_size, hidden_size))
            self.V = nn.Linear(input_size, hidden_size)
            nn.init.normal_(self.W, std=1 / hidden_size)

        def forward(self, x, h):
            A = self.W - self.W.t() - self.gamma * T.eye(self.W.size(0))
            return h + self.eps * T.tanh(F.linear(h, A) + self.V(x))

    class LipschitzRNN(nn.Module):
        def __init__(self, input_dim, hidden_dim, output_dim, eps=0.03, beta=0.75, gamma_A=0.001, gamma_W=0.001):
            super().__init__()
            self.hidden_dim = hidden_dim
            self.E = nn.Linear(input_dim, hidden_dim)
            self.D = nn.Linear(hidden_dim, output_dim)
            self.C = nn.Parameter(T.empty(hidden_dim, hidden_dim))
            self.B = nn.Parameter(T.empty(hidden_dim, hidden_dim))
            nn.init.normal_(self.C, 0, 1 / hidden_dim)
            nn.init.normal_(self.B, 0, 1 / hidden_dim)
            self.I = T.eye(hidden_dim)
            self.eps, self.beta, self.gamma_A, self.gamma_W = eps, beta, gamma_A, gamma_W

        def forward(self, x):
            h = T.zeros(x.shape[1], self.hidden_dim)
            A = self.beta * (self.B - self.B.transpose(1, 0)) + (1 - self.beta) * (
                self.B + self.B.transpose(1, 0)) - self.gamma_A * self.I
            W = self.beta * (self.C - self.C.transpose(1, 0)) + (1 - self.beta) * (
                self.C + self.C.transpose(1, 0)) - self.gamma_W * self.I
            for i in range(x.shape[0]):
                z = self.E(x[i])
                h = h + self.eps * T.matmul(h, A) + self.eps * T.tanh(T.matmul(h, W) + z)
            return self.D(h)

    class Antisymmetric(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = AntisymmetricRNNCell(2, 5)
            self.out = nn.Linear(5, 1)

        def forward(self, x):
            h = x.new_zeros(x.size(1), 5)
            for x_t in x:
                h = self.cell(x_t, h)
            return self.out(h)

    models = nn.ModuleDict(dict(cornn=coRNN(2, 5, 1, 0.042, 2.7, 4.7), lem=LEM(2, 5, 1, dt=0.5),
                                antisymmetric=Antisymmetric(), lipschitz=LipschitzRNN(2, 5, 1)))
    if sd is None:
        return _state(models)
    _load(T, models, sd)
    objective = nn.MSELoss()
    out = []
    for name, model in models.items():
        optimizer = T.optim.Adam(model.parameters(), lr=0.01)
        for data, label in batches:
            data, label = T.from_numpy(data), T.from_numpy(label)
            label = label.unsqueeze(1)
            optimizer.zero_grad()
            output = model(data)
            loss = objective(output, label)
            loss.backward()
            out += [loss, output, _grads(model)]
            optimizer.step()
    out.append(models.state_dict())
    return out


def _adding_problem(rng, T, batch_size):
    """tk-rusch/coRNN's get_batch for the adding problem, on numpy: (T, batch, 2) values and two markers, the sum
    of the marked values."""
    values = rng.random((T, batch_size))
    indices = np.zeros_like(values)
    half = int(T / 2)
    for i in range(batch_size):
        indices[rng.integers(half), i] = 1
        indices[rng.integers(half, T), i] = 1
    return np.stack((values, indices), -1), (values * indices).sum(0)


def test_cornn_lem_antisymmetric_and_lipschitz_rnn_on_the_adding_problem(torch):
    rng = _rng(8)
    batches = [_adding_problem(rng, 8, 4) for _ in range(3)]
    sd = ode_cells(torch, None, None)
    _compare(ode_cells(tg, sd, batches), ode_cells(torch, sd, batches))


def dynamic_eval(T, sd, train, test):
    """Dynamic evaluation (Krause et al., 2018) as benkrause/dynamic-evaluation's dynamiceval.py writes it, on
    pytorch/examples' word-language-model RNNModel: gradstat() gathers the mean squared gradients over the training
    data as attributes set on the parameters (param.MS), the decay rates param.decrate = MS / sum(mean MS) clipped at
    1 / lamb through a numpy array that shares their memory (``decratenp[ind] = 1 / lamb``) and cast back with
    ``.type(torch.FloatTensor)``; evaluate() adapts the weights on each test segment after scoring it (RMS-normalised
    SGD plus a decay toward the trained weights param.data0, written by ``param.data += dW``)."""
    nn = T.nn

    class RNNModel(nn.Module):
        """Container module with an encoder, a recurrent module, and a decoder."""
        def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.5, tie_weights=False):
            super(RNNModel, self).__init__()
            self.ntoken = ntoken
            self.drop = nn.Dropout(dropout)
            self.encoder = nn.Embedding(ntoken, ninp)
            self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
            self.decoder = nn.Linear(nhid, ntoken)
            if tie_weights:
                self.decoder.weight = self.encoder.weight
            self.init_weights()
            self.rnn_type = rnn_type
            self.nhid = nhid
            self.nlayers = nlayers

        def init_weights(self):
            initrange = 0.1
            nn.init.uniform_(self.encoder.weight, -initrange, initrange)
            nn.init.zeros_(self.decoder.bias)
            nn.init.uniform_(self.decoder.weight, -initrange, initrange)

        def forward(self, input, hidden):
            emb = self.drop(self.encoder(input))
            output, hidden = self.rnn(emb, hidden)
            output = self.drop(output)
            decoded = self.decoder(output)
            decoded = decoded.view(-1, self.ntoken)
            return T.nn.functional.log_softmax(decoded, dim=1), hidden

        def init_hidden(self, bsz):
            weight = next(self.parameters())
            if self.rnn_type == 'LSTM':
                return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                        weight.new_zeros(self.nlayers, bsz, self.nhid))
            else:
                return weight.new_zeros(self.nlayers, bsz, self.nhid)

    def repackage_hidden(h):
        """Wraps hidden states in new Tensors, to detach them from their history."""
        if isinstance(h, T.Tensor):
            return h.detach()
        else:
            return tuple(repackage_hidden(v) for v in h)

    def batchify(data, bsz):
        nbatch = data.size(0) // bsz
        data = data.narrow(0, 0, nbatch * bsz)
        data = data.view(bsz, -1).t().contiguous()
        return data

    def get_batch(source, i, seq_len):
        seq_len = min(seq_len, len(source) - 1 - i)
        data = source[i:i + seq_len]
        target = source[i + 1:i + 1 + seq_len].view(-1)
        return data, target

    model = RNNModel('LSTM', 9, 4, 4, 2, dropout=0.2, tie_weights=True)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    bptt, lamb, lr, epsilon = 4, 2.0, 0.1, 0.00002  # (1 / lamb below the largest rates: clipped)
    train_data, eval_data = batchify(T.from_numpy(train), 2), batchify(T.from_numpy(test), 1)
    criterion = nn.NLLLoss()
    out = []

    def gradstat():
        total_loss = 0
        hidden = model.init_hidden(2)
        batch, i = 0, 0
        for param in model.parameters():
            param.MS = 0 * param.data
        while i < train_data.size(0) - 1 - 1:
            seq_len = bptt
            model.eval()
            data, targets = get_batch(train_data, i, seq_len=seq_len)
            hidden = repackage_hidden(hidden)
            model.zero_grad()
            # assumes model has atleast 2 returns, and first is output and second is hidden
            output, hidden = model(data, hidden)
            loss = criterion(output, targets)
            loss.backward()
            for param in model.parameters():
                param.MS = param.MS + param.grad.data * param.grad.data
            total_loss += loss.data
            batch += 1
            i += seq_len
        gsum = 0
        for param in model.parameters():
            param.MS = T.sqrt(param.MS / batch)
            gsum += T.mean(param.MS)
        for param in model.parameters():
            param.decrate = param.MS / gsum
        return total_loss

    def evaluate():
        # clips decay rates at 1/lamb
        # otherwise scaled decay rates can be greater than 1
        # would cause decay updates to overshoot
        for param in model.parameters():
            decratenp = param.decrate.numpy()
            ind = np.nonzero(decratenp > (1 / lamb))
            decratenp[ind] = (1 / lamb)
            param.decrate = T.from_numpy(decratenp).type(T.FloatTensor)
            param.data0 = 1 * param.data
        total_loss = 0
        # loops through data
        hidden = model.init_hidden(1)
        batch, i = 0, 0
        seq_len0 = bptt
        while i < eval_data.size(0) - 1 - 1:
            model.eval()
            # gets last chunk of seqlence if seqlen doesn't divide full sequence cleanly
            if (i + bptt) > eval_data.size(0):
                seq_len = eval_data.size(0) - i
            else:
                seq_len = bptt
            data, targets = get_batch(eval_data, i, seq_len=seq_len)
            seq_len = data.size(0)
            # detaches hidden state from history to prevent backprop through entire corpus
            hidden = repackage_hidden(hidden)
            model.zero_grad()
            output, hidden = model(data, hidden)
            loss = criterion(output, targets)
            # compute gradient on sequence segment loss
            loss.backward()
            out.append([p.grad for p in model.parameters()])
            # update rule
            for param in model.parameters():
                dW = lamb * param.decrate * (param.data0 - param.data) - lr * param.grad.data / (param.MS + epsilon)
                param.data += dW
            # seq_len/seq_len0 will be 1 except for last sequence
            # for last sequence, we downweight if sequence is shorter
            total_loss += (seq_len / seq_len0) * loss.data
            batch += (seq_len / seq_len0)
            i += seq_len
        perp = T.exp(total_loss / batch)
        return perp

    out.append(gradstat())
    out.append([[p.MS, p.decrate] for p in model.parameters()])
    out.append(evaluate())
    out.append([p.decrate for p in model.parameters()])
    out.append(model.state_dict())
    return out


def test_dynamic_evaluation_of_an_lstm_language_model(torch):
    rng = _rng(9)
    train, test = rng.integers(0, 9, 2 * 13), rng.integers(0, 9, 15)
    sd = dynamic_eval(torch, None, None, None)
    _compare(dynamic_eval(tg, sd, train, test), dynamic_eval(torch, sd, train, test))


def skip_act(T, sd, xs, ys):
    """Skip RNN (Campos et al., 2018; imatge-upc's skiprnn port): an LSTM cell that updates its state only where a
    binary gate, round(u) by a straight-through torch.autograd.Function, is 1, the update probability accumulated
    with min(delta_u, 1 - u), the budget loss on the number of updates; and Adaptive Computation Time (Graves,
    2016) over a GRUCell: the data-dependent pondering loop (while any sequence is still running), halting
    probabilities, remainders and the ponder cost, the mean-field state. A classifier on each, Adam."""
    nn = T.nn
    F = nn.functional

    class STEFunction(T.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            return T.round(input)

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output

    class SkipLSTMCell(nn.Module):
        def __init__(self, input_size, hidden_size):
            super().__init__()
            self.cell = nn.LSTMCell(input_size, hidden_size)
            self.linear = nn.Linear(hidden_size, 1)
            self.linear.bias.data.fill_(1)

        def forward(self, x, state):
            h, c, u_acc = state
            u_t = STEFunction.apply(u_acc)
            new_h, new_c = self.cell(x, (h, c))
            delta_u = T.sigmoid(self.linear(new_c))
            h = u_t * new_h + (1 - u_t) * h
            c = u_t * new_c + (1 - u_t) * c
            new_u = u_t * delta_u + (1 - u_t) * (u_acc + T.min(delta_u, 1 - u_acc))
            return (h, c, new_u), u_t

    class ACTCell(nn.Module):
        def __init__(self, input_size, hidden_size, max_ponder=4, epsilon=0.01):
            super().__init__()
            self.cell = nn.GRUCell(input_size + 1, hidden_size)
            self.halt = nn.Linear(hidden_size, 1)
            self.halt.bias.data.fill_(-1.0)
            self.max_ponder, self.epsilon = max_ponder, epsilon

        def forward(self, x, h):
            B = x.size(0)
            halting_prob = x.new_zeros(B)
            remainders = x.new_zeros(B)
            n_updates = x.new_zeros(B)
            acc_state = T.zeros_like(h)
            step = 0
            while bool((halting_prob < 1 - self.epsilon).any()) and step < self.max_ponder:
                flag = x.new_full((B, 1), 1.0 if step == 0 else 0.0)
                h = self.cell(T.cat([x, flag], 1), h)
                p = T.sigmoid(self.halt(h)).squeeze(1)
                still_running = (halting_prob < 1 - self.epsilon).float()
                new_halted = ((halting_prob + p * still_running) > 1 - self.epsilon).float() * still_running
                if step == self.max_ponder - 1:  # (the last step halts everything)
                    new_halted = still_running
                still_running = ((halting_prob + p * still_running) <= 1 - self.epsilon).float() * still_running \
                    * (step < self.max_ponder - 1)
                halting_prob = halting_prob + p * still_running
                remainders = remainders + new_halted * (1 - halting_prob)
                halting_prob = halting_prob + new_halted * remainders
                n_updates = n_updates + still_running + new_halted
                update_weights = p * still_running + new_halted * remainders
                acc_state = acc_state + update_weights.unsqueeze(1) * h
                step += 1
            return acc_state, n_updates + remainders, step

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.skip = SkipLSTMCell(3, 5)
            self.act = ACTCell(5, 4)
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            B = x.size(1)
            state = (x.new_zeros(B, 5), x.new_zeros(B, 5), x.new_ones(B, 1))
            h_act = x.new_zeros(B, 4)
            updates, ponder, steps = [], [], []
            for x_t in x:
                state, u_t = self.skip(x_t, state)
                h_act, p_cost, n = self.act(state[0], h_act)
                updates.append(u_t)
                ponder.append(p_cost)
                steps.append(n)
            return self.fc(h_act), T.cat(updates, 1), T.stack(ponder, 1), steps

    model = Net()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.Adam(model.parameters(), lr=0.05)
    out = []
    for x, y in zip(xs, ys):
        logits, updates, ponder, steps = model(T.from_numpy(x))
        budget_loss = 0.01 * updates.sum(1).mean()
        ponder_loss = 0.01 * ponder.sum(1).mean()
        loss = F.cross_entropy(logits, T.from_numpy(y)) + budget_loss + ponder_loss
        optimizer.zero_grad()
        loss.backward()
        out += [loss, logits, updates, ponder, np.array(steps), _grads(model)]
        optimizer.step()
    out.append(model.state_dict())
    return out


def test_skip_rnn_straight_through_gate_and_adaptive_computation_time(torch):
    rng = _rng(10)
    xs = [rng.standard_normal((6, 4, 3)) * 2 for _ in range(4)]
    ys = [rng.integers(0, 3, 4) for _ in range(4)]
    sd = skip_act(torch, None, None, None)
    sd["skip.linear.bias"][:] = -0.3  # (from its init of 1 the gate would always update)
    sd["act.halt.bias"][:] = 0.0  # (and from -1, with small weights, every sequence would ponder the most steps)
    sd["act.halt.weight"] *= 6
    ours, theirs = skip_act(tg, sd, xs, ys), skip_act(torch, sd, xs, ys)
    _compare(ours, theirs)
    updates = np.concatenate([_plain(u).ravel() for u in theirs[2::6]])
    assert 0 < updates.sum() < updates.size  # (both branches of the gate taken)
    assert len({int(s) for s in np.concatenate([_plain(s) for s in theirs[4::6]])}) > 1  # (ponder steps vary)


def rims(T, sd, xs, ys, h0s):
    """Recurrent Independent Mechanisms (Goyal et al., 2021) as dido1998/Recurrent-Independent-Mechanisms writes
    them: GroupLinearLayer (one weight per unit, by bmm), a GroupLSTMCell, input attention against a null input (a
    float32 zeros ``.float()`` concatenated to the float64 input, promoted by cat) whose top-k units get the mask
    (written by a numpy row index and the topk indices), blocked_grad (an autograd.Function passing the gradient
    of the active units only, and returning one for the mask), communication attention between the units, the
    inactive units' state kept; a sequence classifier on the units' last states, Adam. (Dropouts 0; the initial
    state given.)"""
    nn = T.nn
    device = "cpu"

    class blocked_grad(T.autograd.Function):
        @staticmethod
        def forward(ctx, x, mask):
            ctx.save_for_backward(x, mask)
            return x

        @staticmethod
        def backward(ctx, grad_output):
            x, mask = ctx.saved_tensors
            return grad_output * mask, mask * 0.0

    class GroupLinearLayer(nn.Module):
        def __init__(self, din, dout, num_blocks):
            super(GroupLinearLayer, self).__init__()
            self.w = nn.Parameter(0.01 * T.randn(num_blocks, din, dout))

        def forward(self, x):
            x = x.permute(1, 0, 2)
            x = T.bmm(x, self.w)
            return x.permute(1, 0, 2)

    class GroupLSTMCell(nn.Module):
        def __init__(self, inp_size, hidden_size, num_lstms):
            super().__init__()
            self.inp_size = inp_size
            self.hidden_size = hidden_size
            self.i2h = GroupLinearLayer(inp_size, 4 * hidden_size, num_lstms)
            self.h2h = GroupLinearLayer(hidden_size, 4 * hidden_size, num_lstms)
            self.reset_parameters()

        def reset_parameters(self):
            stdv = 1.0 / math.sqrt(self.hidden_size)
            for weight in self.parameters():
                weight.data.uniform_(-stdv, stdv)

        def forward(self, x, hid_state):
            h, c = hid_state
            preact = self.i2h(x) + self.h2h(h)
            gates = preact[:, :, :3 * self.hidden_size].sigmoid()
            g_t = preact[:, :, 3 * self.hidden_size:].tanh()
            i_t = gates[:, :, :self.hidden_size]
            f_t = gates[:, :, self.hidden_size:2 * self.hidden_size]
            o_t = gates[:, :, -self.hidden_size:]
            c_t = T.mul(c, f_t) + T.mul(i_t, g_t)
            h_t = T.mul(o_t, c_t.tanh())
            return h_t, c_t

    class RIMCell(nn.Module):
        def __init__(self, device, input_size, hidden_size, num_units, k, rnn_cell, input_key_size=64,
                     input_value_size=400, input_query_size=64, num_input_heads=1, input_dropout=0.1,
                     comm_key_size=32, comm_value_size=100, comm_query_size=32, num_comm_heads=4, comm_dropout=0.1):
            super().__init__()
            if comm_value_size != hidden_size:
                comm_value_size = hidden_size
            self.device = device
            self.hidden_size = hidden_size
            self.num_units = num_units
            self.rnn_cell = rnn_cell
            self.key_size = input_key_size
            self.k = k
            self.num_input_heads = num_input_heads
            self.num_comm_heads = num_comm_heads
            self.input_key_size = input_key_size
            self.input_query_size = input_query_size
            self.input_value_size = input_value_size
            self.comm_key_size = comm_key_size
            self.comm_query_size = comm_query_size
            self.comm_value_size = comm_value_size
            self.key = nn.Linear(input_size, num_input_heads * input_query_size).to(self.device)
            self.value = nn.Linear(input_size, num_input_heads * input_value_size).to(self.device)
            self.rnn = GroupLSTMCell(input_value_size, hidden_size, num_units)
            self.query = GroupLinearLayer(hidden_size, input_key_size * num_input_heads, self.num_units)
            self.query_ = GroupLinearLayer(hidden_size, comm_query_size * num_comm_heads, self.num_units)
            self.key_ = GroupLinearLayer(hidden_size, comm_key_size * num_comm_heads, self.num_units)
            self.value_ = GroupLinearLayer(hidden_size, comm_value_size * num_comm_heads, self.num_units)
            self.comm_attention_output = GroupLinearLayer(num_comm_heads * comm_value_size, comm_value_size,
                                                          self.num_units)
            self.comm_dropout = nn.Dropout(p=input_dropout)
            self.input_dropout = nn.Dropout(p=comm_dropout)

        def transpose_for_scores(self, x, num_attention_heads, attention_head_size):
            new_x_shape = x.size()[:-1] + (num_attention_heads, attention_head_size)
            x = x.view(*new_x_shape)
            return x.permute(0, 2, 1, 3)

        def input_attention_mask(self, x, h):
            key_layer = self.key(x)
            value_layer = self.value(x)
            query_layer = self.query(h)
            key_layer = self.transpose_for_scores(key_layer, self.num_input_heads, self.input_key_size)
            value_layer = T.mean(self.transpose_for_scores(value_layer, self.num_input_heads, self.input_value_size),
                                 dim=1)
            query_layer = self.transpose_for_scores(query_layer, self.num_input_heads, self.input_query_size)
            attention_scores = T.matmul(query_layer, key_layer.transpose(-1, -2)) / math.sqrt(self.input_key_size)
            attention_scores = T.mean(attention_scores, dim=1)
            mask_ = T.zeros(x.size(0), self.num_units).to(self.device)
            not_null_scores = attention_scores[:, :, 0]
            topk1 = T.topk(not_null_scores, self.k, dim=1)
            row_index = np.arange(x.size(0))
            row_index = np.repeat(row_index, self.k)
            mask_[row_index, topk1.indices.view(-1)] = 1
            attention_probs = self.input_dropout(nn.Softmax(dim=-1)(attention_scores))
            inputs = T.matmul(attention_probs, value_layer) * mask_.unsqueeze(2)
            return inputs, mask_

        def communication_attention(self, h, mask):
            query_layer = self.query_(h)
            key_layer = self.key_(h)
            value_layer = self.value_(h)
            query_layer = self.transpose_for_scores(query_layer, self.num_comm_heads, self.comm_query_size)
            key_layer = self.transpose_for_scores(key_layer, self.num_comm_heads, self.comm_key_size)
            value_layer = self.transpose_for_scores(value_layer, self.num_comm_heads, self.comm_value_size)
            attention_scores = T.matmul(query_layer, key_layer.transpose(-1, -2))
            attention_scores = attention_scores / math.sqrt(self.comm_key_size)
            attention_probs = nn.Softmax(dim=-1)(attention_scores)
            mask = [mask for _ in range(attention_probs.size(1))]
            mask = T.stack(mask, dim=1)
            attention_probs = attention_probs * mask.unsqueeze(3)
            attention_probs = self.comm_dropout(attention_probs)
            context_layer = T.matmul(attention_probs, value_layer)
            context_layer = context_layer.permute(0, 2, 1, 3).contiguous()
            new_context_layer_shape = context_layer.size()[:-2] + (self.num_comm_heads * self.comm_value_size,)
            context_layer = context_layer.view(*new_context_layer_shape)
            context_layer = self.comm_attention_output(context_layer)
            context_layer = context_layer + h
            return context_layer

        def forward(self, x, hs, cs=None):
            size = x.size()
            null_input = T.zeros(size[0], 1, size[2]).float().to(self.device)
            x = T.cat((x, null_input), dim=1)
            # Compute input attention
            inputs, mask = self.input_attention_mask(x, hs)
            h_old = hs * 1.0
            if cs is not None:
                c_old = cs * 1.0
            # Compute RNN(LSTM or GRU) output
            if cs is not None:
                hs, cs = self.rnn(inputs, (hs, cs))
            else:
                hs = self.rnn(inputs, hs)
            # Block gradient through inactive units
            mask = mask.unsqueeze(2)
            h_new = blocked_grad.apply(hs, mask)
            # Compute communication attention
            h_new = self.communication_attention(h_new, mask.squeeze(2))
            hs = mask * h_new + (1 - mask) * h_old
            if cs is not None:
                cs = mask * cs + (1 - mask) * c_old
                return hs, cs, None
            return hs, None, None

    class MnistModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.rim_model = RIMCell(device, 2, 4, 4, 2, 'LSTM', input_key_size=3, input_value_size=5,
                                     input_query_size=3, num_input_heads=1, input_dropout=0.0, comm_key_size=3,
                                     comm_value_size=4, comm_query_size=3, num_comm_heads=2, comm_dropout=0.0)
            self.Linear = nn.Linear(4 * 4, 3)
            self.Loss = nn.CrossEntropyLoss()

        def forward(self, x, h0, y=None):
            # (the repository's x = x.float() dropped: the test runs in float64)
            # initialize hidden states (h0 given, not zeros: from zeros every unit's input attention score ties,
            # and which units topk picks among ties is torch's implementation's choice)
            hs = T.from_numpy(h0).to(device)
            cs = T.randn(x.size(0), 4, 4).to(device) * 0
            xs = T.split(x, 1, 1)
            # pass through RIMCell for all timesteps
            for x in xs:
                hs, cs, _ = self.rim_model(x, hs, cs)
            preds = self.Linear(hs.contiguous().view(x.size(0), -1))
            if y is not None:
                # Compute Loss
                y = y.long()
                probs = nn.Softmax(dim=-1)(preds)
                entropy = T.mean(T.sum(probs * T.log(probs), dim=1))
                loss = self.Loss(preds, y) - entropy
                return probs, loss
            return preds

    model = MnistModel()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.Adam(model.parameters(), lr=0.01)
    out = []
    for x, y, h0 in zip(xs, ys, h0s):
        probs, loss = model(T.from_numpy(x), h0, T.from_numpy(y))
        optimizer.zero_grad()
        loss.backward()
        out += [probs, loss, _grads(model)]
        optimizer.step()
    out.append(model.state_dict())
    return out


def test_recurrent_independent_mechanisms_top_k_units_and_blocked_grad(torch):
    rng = _rng(11)
    xs = [rng.standard_normal((3, 5, 2)) for _ in range(3)]
    ys = [rng.integers(0, 3, 3) for _ in range(3)]
    h0s = [rng.standard_normal((3, 4, 4)) * 0.5 for _ in range(3)]
    sd = rims(torch, None, None, None, None)
    _compare(rims(tg, sd, xs, ys, h0s), rims(torch, sd, xs, ys, h0s))
