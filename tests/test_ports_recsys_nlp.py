"""Recommender-system and NLP fine-tuning programs, ported: each written once, as its authors write it, against a
module ``T`` (torch or tinygrad_rnn), run by both from the same initial weights (torch's, loaded into ours) and
data for a few steps in float64; losses, outputs, gradients (sparse ones densified) and final weights agree to
~1e-10. Skipped without torch.

Programs: DLRM (EmbeddingBag sum with offsets, sparse=True, SGD, dot interaction), NCF / NeuMF, Wide & Deep,
DeepFM (the FM second-order trick), a two-tower retrieval model with in-batch softmax, word2vec skip-gram with
negative sampling and SparseAdam, the text_sentiment_ngrams fastText classifier (collate_batch offsets, a
DataLoader with workers), a BERT-style classifier with LoRA adapters (merge / unmerge), T5's relative position
bias, a KV-cache greedy and beam decoder, rotary embeddings and ALiBi, a label-smoothed seq2seq with padding masks,
a GPT-2 style tied-embedding LM with AdamW parameter groups and a linear warmup schedule (LambdaLR), gradient
checkpointing in a transformer block; DLRM's QR embeddings with SparseAdam + Adam resumed from torch.save, a sparse
bag-of-words logistic regression through DataLoader workers, SASRec, sentence-transformers fine-tuning (prompt
tuning, layer-wise lr decay, resize_token_embeddings, a padding collator in workers), minLoRA's parametrizations,
HF-style sampling filters (repetition penalty, top-k / top-p) with a searchsorted sampler, a Switch-Transformer
mixture of experts, DIN with Dice and a DCN-v2 cross network, the pointer-generator with coverage, TinyBERT-style
distillation into a student with adapters attached by forward hooks, torch 0.4's SparseAdam and Adagrad sparse
branch as custom optimizers.
"""
import io
import math
import pickle
from importlib import import_module

import numpy as np
import pytest

import tinygrad_rnn as tg
from ports import compare as _compare, grads as _grads, load as _load, plain as _plain, rng as _rng, state as _state


# ------------------------------------------------------------------------------------------------------- the programs
def dlrm(T, sd, dense_x, lS_i, lS_o, y):
    """facebookresearch/dlrm's model: bottom MLP, EmbeddingBag(mode='sum', sparse=True) tables fed (indices,
    offsets), the 'dot' interaction (bmm, the strictly lower triangle by li/lj), top MLP, sigmoid + BCE; SGD."""
    nn = T.nn
    class DLRM_Net(nn.Module):
        def create_mlp(self, ln, sigmoid_layer):
            layers = nn.ModuleList()
            for i in range(0, ln.size - 1):
                n, m = ln[i], ln[i + 1]
                LL = nn.Linear(int(n), int(m), bias=True)
                layers.append(LL)
                if i == sigmoid_layer:
                    layers.append(nn.Sigmoid())
                else:
                    layers.append(nn.ReLU())
            return T.nn.Sequential(*layers)
        def create_emb(self, m, ln):
            emb_l = nn.ModuleList()
            for i in range(0, ln.size):
                n = ln[i]
                EE = nn.EmbeddingBag(n, m, mode="sum", sparse=True)
                emb_l.append(EE)
            return emb_l
        def __init__(self, m_spa, ln_emb, ln_bot, ln_top, sigmoid_top):
            super(DLRM_Net, self).__init__()
            self.emb_l = self.create_emb(m_spa, ln_emb)
            self.bot_l = self.create_mlp(ln_bot, -1)
            self.top_l = self.create_mlp(ln_top, sigmoid_top)
        def apply_emb(self, lS_o, lS_i, emb_l):
            ly = []
            for k, sparse_index_group_batch in enumerate(lS_i):
                sparse_offset_group_batch = lS_o[k]
                E = emb_l[k]
                V = E(sparse_index_group_batch, sparse_offset_group_batch, per_sample_weights=None)
                ly.append(V)
            return ly
        def interact_features(self, x, ly):
            (batch_size, d) = x.shape
            T_ = T.cat([x] + ly, dim=1).view((batch_size, -1, d))
            Z = T.bmm(T_, T.transpose(T_, 1, 2))
            _, ni, nj = Z.shape
            offset = 0
            li = T.tensor([i for i in range(ni) for j in range(i + offset)])
            lj = T.tensor([j for i in range(nj) for j in range(i + offset)])
            Zflat = Z[:, li, lj]
            R = T.cat([x] + [Zflat], dim=1)
            return R
        def forward(self, dense_x, lS_o, lS_i):
            x = self.bot_l(dense_x)
            ly = self.apply_emb(lS_o, lS_i, self.emb_l)
            z = self.interact_features(x, ly)
            p = self.top_l(z)
            return p
    ln_emb = np.array([7, 9, 5])
    m = DLRM_Net(4, ln_emb, np.array([6, 8, 4]), np.array([4 + 6, 8, 1]), 1)
    if sd is None:
        return _state(m)
    _load(T, m, sd)
    loss_fn = T.nn.BCELoss(reduction="mean")
    optimizer = T.optim.SGD(m.parameters(), lr=0.1)
    out = []
    for j in range(3):
        X = T.tensor(dense_x[j])
        Z = m(X, [T.tensor(o) for o in lS_o[j]], [T.tensor(i) for i in lS_i[j]])
        E = loss_fn(Z, T.tensor(y[j]))
        optimizer.zero_grad()
        E.backward()
        out += [Z, E, _grads(m)]
        assert all(e.weight.grad.is_sparse for e in m.emb_l)
        optimizer.step()
    out.append(m.state_dict())
    return out


def test_dlrm_sparse_embedding_bags_and_dot_interaction(torch):
    rng = _rng()
    sd = dlrm(torch, None, None, None, None, None)
    dense_x = rng.standard_normal((3, 5, 6))
    lS_i, lS_o = [], []
    for _ in range(3):
        idx, off = [], []
        for n in (7, 9, 5):
            lens = rng.integers(0, 4, 5)  # (an empty bag too)
            lens[0] = 2
            idx.append(rng.integers(0, n, lens.sum()))
            off.append(np.concatenate([[0], np.cumsum(lens)[:-1]]))
        lS_i.append(idx)
        lS_o.append(off)
    y = rng.integers(0, 2, (3, 5, 1)).astype(float)
    _compare(dlrm(tg, sd, dense_x, lS_i, lS_o, y), dlrm(torch, sd, dense_x, lS_i, lS_o, y))


def neumf(T, sd, users, items, labels):
    """NCF's NeuMF (guoyang9/NCF): GMF and MLP embeddings, concatenated predictors, BCEWithLogitsLoss, Adam."""
    nn = T.nn
    class NCF(nn.Module):
        def __init__(self, user_num, item_num, factor_num, num_layers, dropout, model):
            super(NCF, self).__init__()
            self.dropout = dropout
            self.model = model
            self.embed_user_GMF = nn.Embedding(user_num, factor_num)
            self.embed_item_GMF = nn.Embedding(item_num, factor_num)
            self.embed_user_MLP = nn.Embedding(user_num, factor_num * (2 ** (num_layers - 1)))
            self.embed_item_MLP = nn.Embedding(item_num, factor_num * (2 ** (num_layers - 1)))
            MLP_modules = []
            for i in range(num_layers):
                input_size = factor_num * (2 ** (num_layers - i))
                MLP_modules.append(nn.Dropout(p=self.dropout))
                MLP_modules.append(nn.Linear(input_size, input_size // 2))
                MLP_modules.append(nn.ReLU())
            self.MLP_layers = nn.Sequential(*MLP_modules)
            predict_size = factor_num * 2
            self.predict_layer = nn.Linear(predict_size, 1)
            self._init_weight_()
        def _init_weight_(self):
            nn.init.normal_(self.embed_user_GMF.weight, std=0.01)
            nn.init.normal_(self.embed_user_MLP.weight, std=0.01)
            nn.init.normal_(self.embed_item_GMF.weight, std=0.01)
            nn.init.normal_(self.embed_item_MLP.weight, std=0.01)
            for m in self.MLP_layers:
                if isinstance(m, nn.Linear):
                    nn.init.xavier_uniform_(m.weight)
            nn.init.kaiming_uniform_(self.predict_layer.weight, a=1, nonlinearity='sigmoid')
            for m in self.modules():
                if isinstance(m, nn.Linear) and m.bias is not None:
                    m.bias.data.zero_()
        def forward(self, user, item):
            embed_user_GMF = self.embed_user_GMF(user)
            embed_item_GMF = self.embed_item_GMF(item)
            output_GMF = embed_user_GMF * embed_item_GMF
            embed_user_MLP = self.embed_user_MLP(user)
            embed_item_MLP = self.embed_item_MLP(item)
            interaction = T.cat((embed_user_MLP, embed_item_MLP), -1)
            output_MLP = self.MLP_layers(interaction)
            concat = T.cat((output_GMF, output_MLP), -1)
            prediction = self.predict_layer(concat)
            return prediction.view(-1)
    model = NCF(10, 12, 4, 3, 0.0, "NeuMF-end")
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    loss_function = nn.BCEWithLogitsLoss()
    optimizer = T.optim.Adam(model.parameters(), lr=0.01)
    out = []
    model.train()
    for user, item, label in zip(users, items, labels):
        user, item, label = T.from_numpy(user), T.from_numpy(item), T.from_numpy(label).float()
        model.zero_grad()
        prediction = model(user, item)
        loss = loss_function(prediction, label.double())
        loss.backward()
        optimizer.step()
        out += [loss, prediction, _grads(model)]
    model.eval()
    with T.no_grad():
        predictions = model(T.from_numpy(users[0]), T.from_numpy(items[0]))
        _, indices = T.topk(predictions, 3)
        recommends = T.take(T.from_numpy(items[0]), indices).numpy().tolist()
    out += [predictions, np.array(recommends), model.state_dict()]
    return out


def test_ncf_neumf(torch):
    rng = _rng(1)
    sd = neumf(torch, None, None, None, None)
    users, items = rng.integers(0, 10, (3, 8)), rng.integers(0, 12, (3, 8))
    labels = rng.integers(0, 2, (3, 8)).astype(np.float32)
    _compare(neumf(tg, sd, users, items, labels), neumf(torch, sd, users, items, labels))


def deepfm(T, sd, Xi, Xv, y):
    """DeepFM (as in chenxijun1029/DeepFM_with_PyTorch): first-order embeddings, the FM second-order trick
    0.5 * ((sum v)^2 - sum v^2), a deep part with BatchNorm + ReLU and dropout off, BCEWithLogits; a Wide & Deep
    head beside it (a wide linear over one-hot crosses by EmbeddingBag(mode='sum') with per_sample_weights); Adagrad."""
    nn, F = T.nn, T.nn.functional
    class DeepFM(nn.Module):
        def __init__(self, feature_sizes, embedding_size=4, hidden_dims=[8, 6]):
            super().__init__()
            self.field_size = len(feature_sizes)
            self.fm_first_order_embeddings = nn.ModuleList([nn.Embedding(fs, 1) for fs in feature_sizes])
            self.fm_second_order_embeddings = nn.ModuleList(
                [nn.Embedding(fs, embedding_size) for fs in feature_sizes])
            all_dims = [self.field_size * embedding_size] + hidden_dims
            for i in range(1, len(hidden_dims) + 1):
                setattr(self, 'linear_' + str(i), nn.Linear(all_dims[i - 1], all_dims[i]))
                setattr(self, 'batchNorm_' + str(i), nn.BatchNorm1d(all_dims[i]))
                setattr(self, 'dropout_' + str(i), nn.Dropout(0.0))
            self.hidden_dims = hidden_dims
            self.bias = nn.Parameter(T.randn(1))
            self.wide = nn.EmbeddingBag(sum(feature_sizes), 1, mode="sum")
        def forward(self, Xi, Xv, wide_idx, wide_off, wide_w):
            fm_first_order_emb_arr = [(T.sum(emb(Xi[:, i, :]), 1).t() * Xv[:, i]).t()
                                      for i, emb in enumerate(self.fm_first_order_embeddings)]
            fm_first_order = T.cat(fm_first_order_emb_arr, 1)
            fm_second_order_emb_arr = [(T.sum(emb(Xi[:, i, :]), 1).t() * Xv[:, i]).t()
                                       for i, emb in enumerate(self.fm_second_order_embeddings)]
            fm_sum_second_order_emb = sum(fm_second_order_emb_arr)
            fm_sum_second_order_emb_square = fm_sum_second_order_emb * fm_sum_second_order_emb
            fm_second_order_emb_square = [item * item for item in fm_second_order_emb_arr]
            fm_second_order_emb_square_sum = sum(fm_second_order_emb_square)
            fm_second_order = (fm_sum_second_order_emb_square - fm_second_order_emb_square_sum) * 0.5
            deep_emb = T.cat(fm_second_order_emb_arr, 1)
            deep_out = deep_emb
            for i in range(1, len(self.hidden_dims) + 1):
                deep_out = getattr(self, 'linear_' + str(i))(deep_out)
                deep_out = F.relu(getattr(self, 'batchNorm_' + str(i))(deep_out))
                deep_out = getattr(self, 'dropout_' + str(i))(deep_out)
            wide = self.wide(wide_idx, wide_off, per_sample_weights=wide_w).squeeze(1)
            total_sum = T.sum(fm_first_order, 1) + T.sum(fm_second_order, 1) + T.sum(deep_out, 1) + self.bias + wide
            return total_sum
    model = DeepFM([5, 7, 3])
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.Adagrad(model.parameters(), lr=0.05, weight_decay=1e-3)
    out = []
    for xi, xv, yy in zip(Xi, Xv, y):
        xi, xv, yy = T.tensor(xi), T.tensor(xv), T.tensor(yy)
        offs = T.tensor([0, 1, 2])
        base = T.tensor([0, 5, 12])
        wide_idx = (xi[:, :, 0] + base).flatten()
        wide_w = xv.flatten()
        wide_off = T.arange(0, wide_idx.numel(), 3)
        total = model(xi, xv, wide_idx, wide_off, wide_w)
        loss = F.binary_cross_entropy_with_logits(total, yy)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        out += [total, loss, _grads(model)]
        del offs
    out.append(model.state_dict())
    return out


def test_deepfm_fm_trick_and_wide_part(torch):
    rng = _rng(2)
    sd = deepfm(torch, None, None, None, None)
    Xi = np.stack([rng.integers(0, n, (3, 6, 1)) for n in (5, 7, 3)], 2)
    Xv = rng.uniform(0.5, 1.5, (3, 6, 3))
    y = rng.integers(0, 2, (3, 6)).astype(float)
    _compare(deepfm(tg, sd, Xi, Xv, y), deepfm(torch, sd, Xi, Xv, y))


def two_tower(T, sd, users, items, hist, logq):
    """A two-tower retrieval model (YouTube / TFRS style): a user tower over the user id and the mean of the
    watched items (EmbeddingBag(mode='mean', padding_idx=0)), an item tower, L2-normalised embeddings, in-batch
    softmax with temperature and a log-Q correction, cross entropy against the diagonal; AdamW; recall@k."""
    nn, F = T.nn, T.nn.functional
    class Tower(nn.Module):
        def __init__(self, n, d, hist=False):
            super().__init__()
            self.id = nn.Embedding(n, d)
            self.hist = nn.EmbeddingBag(13, d, mode="mean", padding_idx=0) if hist else None
            self.mlp = nn.Sequential(nn.Linear(2 * d if hist else d, 16), nn.GELU(), nn.LayerNorm(16),
                                     nn.Linear(16, 8))
        def forward(self, ids, h=None):
            x = self.id(ids)
            if self.hist is not None:
                x = T.cat([x, self.hist(h)], -1)
            return F.normalize(self.mlp(x), dim=-1)
    class TwoTower(nn.Module):
        def __init__(self):
            super().__init__()
            self.user = Tower(9, 6, hist=True)
            self.item = Tower(13, 6)
            self.log_temp = nn.Parameter(T.tensor(math.log(0.2)))
        def forward(self, u, i, h, logq):
            q, c = self.user(u, h), self.item(i)
            logits = q @ c.T / self.log_temp.exp() - logq
            return logits, q, c
    model = TwoTower()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = T.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                        lr=3e-3)
    out = []
    for u, i, h, lq in zip(users, items, hist, logq):
        u, i, h, lq = T.tensor(u), T.tensor(i), T.tensor(h), T.tensor(lq)
        logits, q, c = model(u, i, h, lq)
        labels = T.arange(len(u))
        loss = F.cross_entropy(logits, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        out += [logits, loss, _grads(model)]
    with T.no_grad():
        q = model.user(T.tensor(users[0]), T.tensor(hist[0]))
        cand = model.item(T.arange(13))
        scores = q @ cand.T
        top = scores.topk(3, dim=1).indices
        recall = (top == T.tensor(items[0])[:, None]).any(1).float().mean()
    out += [scores, top, recall, model.state_dict()]
    return out


def test_two_tower_in_batch_softmax(torch):
    rng = _rng(3)
    sd = two_tower(torch, None, None, None, None, None)
    users = np.stack([rng.permutation(9)[:6] for _ in range(3)])
    items = np.stack([rng.permutation(13)[:6] for _ in range(3)])
    hist = rng.integers(0, 13, (3, 6, 4))
    logq = np.log(rng.uniform(0.05, 0.3, (3, 6)))
    _compare(two_tower(tg, sd, users, items, hist, logq), two_tower(torch, sd, users, items, hist, logq))


def w2v(T, sd, pos_u, pos_v, neg_v, sparse=True):
    """The classic torch word2vec (Andras7/word2vec-pytorch): skip-gram with negative sampling (bmm of embeddings,
    logsigmoid, clamp), u/v embeddings with sparse=True, SparseAdam and CosineAnnealingLR (stepped first, as old
    torch wanted), the embeddings then saved by pickling the model's state dict. With sparse=False, dense
    embeddings and Adam, and the trained u embeddings reused through EmbeddingBag.from_pretrained(mode='mean')."""
    nn, F = T.nn, T.nn.functional
    class SkipGramModel(nn.Module):
        def __init__(self, emb_size, emb_dimension):
            super(SkipGramModel, self).__init__()
            self.emb_size = emb_size
            self.emb_dimension = emb_dimension
            self.u_embeddings = nn.Embedding(emb_size, emb_dimension, sparse=sparse)
            self.v_embeddings = nn.Embedding(emb_size, emb_dimension, sparse=sparse)
            initrange = 1.0 / self.emb_dimension
            nn.init.uniform_(self.u_embeddings.weight.data, -initrange, initrange)
            nn.init.constant_(self.v_embeddings.weight.data, 0)
        def forward(self, pos_u, pos_v, neg_v):
            emb_u = self.u_embeddings(pos_u)
            emb_v = self.v_embeddings(pos_v)
            emb_neg_v = self.v_embeddings(neg_v)
            score = T.sum(T.mul(emb_u, emb_v), dim=1)
            score = T.clamp(score, max=10, min=-10)
            score = -F.logsigmoid(score)
            neg_score = T.bmm(emb_neg_v, emb_u.unsqueeze(2)).squeeze()
            neg_score = T.clamp(neg_score, max=10, min=-10)
            neg_score = -T.sum(F.logsigmoid(-neg_score), dim=1)
            return T.mean(score + neg_score)
    model = SkipGramModel(20, 6)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = (T.optim.SparseAdam if sparse else T.optim.Adam)(list(model.parameters()), lr=0.01)
    scheduler = T.optim.lr_scheduler.CosineAnnealingLR(optimizer, len(pos_u))
    out = []
    for i in range(len(pos_u)):
        if sparse:
            scheduler.step()
        optimizer.zero_grad()
        loss = model.forward(T.from_numpy(pos_u[i]), T.from_numpy(pos_v[i]), T.from_numpy(neg_v[i]))
        loss.backward()
        out += [loss, _grads(model), scheduler.get_last_lr()]
        optimizer.step()
        if not sparse:
            scheduler.step()
    if not sparse:
        bag = nn.EmbeddingBag.from_pretrained(model.u_embeddings.weight.detach(), mode="mean", freeze=False)
        o = bag(T.from_numpy(pos_u[0]), T.tensor([0, 2, 5]))
        o.sum().backward()
        return out + [model.state_dict(), o, bag.weight.grad]
    blob = pickle.dumps(model.state_dict())
    again = SkipGramModel(20, 6)
    again.load_state_dict(pickle.loads(blob))
    opt_blob = pickle.loads(pickle.dumps(optimizer.state_dict()))
    out += [again.state_dict(), [s["exp_avg"] for s in opt_blob["state"].values()],
            [s["exp_avg_sq"] for s in opt_blob["state"].values()]]
    return out


# (the author's order with sparse: scheduler.step() first)
@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before:UserWarning")
@pytest.mark.parametrize("sparse", [True, False])
def test_word2vec_skip_gram_adam_and_sparse_adam(torch, sparse):
    rng = _rng(4)
    sd = w2v(torch, None, None, None, None, sparse)
    sd["v_embeddings.weight"] = rng.standard_normal((20, 6)) * .1
    pu, pv, nv = rng.integers(0, 20, (4, 7)), rng.integers(0, 20, (4, 7)), rng.integers(0, 20, (4, 7, 4))
    _compare(w2v(tg, sd, pu, pv, nv, sparse), w2v(torch, sd, pu, pv, nv, sparse))


_NEWS = [(1, "stocks rally as markets cheer rate cut"), (2, "home team wins the cup final"),
         (3, "new phone chip doubles battery life"), (0, "leaders meet to discuss trade deal"),
         (1, "bank shares fall on weak profit"), (2, "star striker scores twice in derby"),
         (3, "startup unveils faster cloud chip"), (0, "election results spark protests abroad"),
         (1, "oil prices rise after supply cut"), (2, "coach praises team after cup win"),
         (3, "phone maker reports record sales"), (0, "trade talks stall between leaders")]


def _ngrams_iterator(token_list, ngrams):
    for x in token_list:
        yield x
    for n in range(2, ngrams + 1):
        for x in zip(*[token_list[i:] for i in range(n)]):
            yield " ".join(x)


_VOCAB = {"<unk>": 0}
for _, _text in _NEWS:
    for _tok in _ngrams_iterator(_text.split(), 2):
        _VOCAB.setdefault(_tok, len(_VOCAB))


class _CollateBatch:
    """text_sentiment_ngrams' collate_batch (a class so that the loader's workers can pickle it)."""
    def __init__(self, T):
        self.T = T
    def __call__(self, batch):
        T = self.T
        label_list, text_list, offsets = [], [], [0]
        for (_label, _text) in batch:
            label_list.append(_label)
            processed_text = T.tensor([_VOCAB.get(t, 0) for t in _ngrams_iterator(_text.split(), 2)],
                                      dtype=T.int64)
            text_list.append(processed_text)
            offsets.append(processed_text.size(0))
        label_list = T.tensor(label_list, dtype=T.int64)
        offsets = T.tensor(offsets[:-1]).cumsum(dim=0)
        text_list = T.cat(text_list)
        return label_list, text_list, offsets


def fasttext(T, sd, perms, num_workers):
    """PyTorch's text_sentiment_ngrams tutorial: EmbeddingBag(sparse=True) + Linear, bigram tokens, collate_batch
    building offsets, a DataLoader (workers, a sampler order given), SGD with StepLR, clip_grad_norm_ 0.1 of the dense
    layer (torch has no norm of a sparse gradient),
    evaluate with accuracy; then its layers pickled whole (torch.save-style) and reloaded."""
    nn = T.nn
    data = import_module(T.__name__ + ".utils.data")
    class TextClassificationModel(nn.Module):
        def __init__(self, vocab_size, embed_dim, num_class):
            super(TextClassificationModel, self).__init__()
            self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, sparse=True)
            self.fc = nn.Linear(embed_dim, num_class)
            self.init_weights()
        def init_weights(self):
            initrange = 0.5
            self.embedding.weight.data.uniform_(-initrange, initrange)
            self.fc.weight.data.uniform_(-initrange, initrange)
            self.fc.bias.data.zero_()
        def forward(self, text, offsets):
            embedded = self.embedding(text, offsets)
            return self.fc(embedded)
    model = TextClassificationModel(len(_VOCAB), 8, 4)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    criterion = T.nn.CrossEntropyLoss()
    optimizer = T.optim.SGD(model.parameters(), lr=5)
    scheduler = T.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.1)
    out = []
    for perm in perms:
        dataloader = data.DataLoader(_NEWS, batch_size=4, sampler=list(perm), collate_fn=_CollateBatch(T),
                                     num_workers=num_workers)
        model.train()
        for idx, (label, text, offsets) in enumerate(dataloader):
            optimizer.zero_grad()
            predicted_label = model(text, offsets)
            loss = criterion(predicted_label, label)
            loss.backward()
            out += [offsets, loss, _grads(model), T.nn.utils.clip_grad_norm_(model.fc.parameters(), 0.1)]
            optimizer.step()
        scheduler.step()
    model.eval()
    total_acc, total_count = 0, 0
    with T.no_grad():
        for idx, (label, text, offsets) in enumerate(data.DataLoader(_NEWS, batch_size=5,
                                                                      collate_fn=_CollateBatch(T))):
            predicted_label = model(text, offsets)
            total_acc += (predicted_label.argmax(1) == label).sum().item()
            total_count += label.size(0)
    again = T.nn.Sequential(pickle.loads(pickle.dumps(model.embedding)), pickle.loads(pickle.dumps(model.fc)))
    _, text, offsets = _CollateBatch(T)(_NEWS[:3])
    out += [np.array(total_acc / total_count), again[1](again[0](text, offsets)), model.state_dict()]
    return out


@pytest.mark.parametrize("num_workers", [0, 2])
def test_text_sentiment_ngrams_embedding_bag(torch, num_workers):
    rng = _rng(5)
    sd = fasttext(torch, None, None, None)
    perms = [rng.permutation(len(_NEWS)) for _ in range(2)]
    _compare(fasttext(tg, sd, perms, num_workers), fasttext(torch, sd, perms, 0))


def lora_bert(T, sd, ids, mask, labels):
    """A BERT-style encoder classifier fine-tuned with loralib's LoRA Linear on the query / value projections
    (nn.Linear subclassed, reset_parameters overridden, weight.data merged in eval() and unmerged in train()),
    mark_only_lora_as_trainable plus the classifier head, an attention mask as a large negative additive bias,
    [CLS] pooling with tanh; AdamW over the trainable parameters only."""
    nn, F = T.nn, T.nn.functional
    class LoRALinear(nn.Linear):
        def __init__(self, in_features, out_features, r=0, lora_alpha=1, lora_dropout=0., fan_in_fan_out=False,
                     merge_weights=True, **kwargs):
            nn.Linear.__init__(self, in_features, out_features, **kwargs)
            self.r, self.lora_alpha = r, lora_alpha
            self.lora_dropout = nn.Dropout(p=lora_dropout) if lora_dropout > 0. else (lambda x: x)
            self.merged, self.merge_weights = False, merge_weights
            self.fan_in_fan_out = fan_in_fan_out
            if r > 0:
                self.lora_A = nn.Parameter(self.weight.new_zeros((r, in_features)))
                self.lora_B = nn.Parameter(self.weight.new_zeros((out_features, r)))
                self.scaling = self.lora_alpha / self.r
                self.weight.requires_grad = False
            self.reset_parameters()
            if fan_in_fan_out:
                self.weight.data = self.weight.data.transpose(0, 1)
        def reset_parameters(self):
            nn.Linear.reset_parameters(self)
            if hasattr(self, 'lora_A'):
                nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
                nn.init.zeros_(self.lora_B)
        def train(self, mode: bool = True):
            def Tr(w):
                return w.transpose(0, 1) if self.fan_in_fan_out else w
            nn.Linear.train(self, mode)
            if mode:
                if self.merge_weights and self.merged:
                    if self.r > 0:
                        self.weight.data -= Tr(self.lora_B @ self.lora_A) * self.scaling
                    self.merged = False
            else:
                if self.merge_weights and not self.merged:
                    if self.r > 0:
                        self.weight.data += Tr(self.lora_B @ self.lora_A) * self.scaling
                    self.merged = True
            return self
        def forward(self, x):
            def Tr(w):
                return w.transpose(0, 1) if self.fan_in_fan_out else w
            if self.r > 0 and not self.merged:
                result = F.linear(x, Tr(self.weight), bias=self.bias)
                result += (self.lora_dropout(x) @ self.lora_A.transpose(0, 1) @ self.lora_B.transpose(0, 1)) \
                    * self.scaling
                return result
            return F.linear(x, Tr(self.weight), bias=self.bias)
    class SelfAttention(nn.Module):
        def __init__(self, d, h):
            super().__init__()
            self.h, self.dh = h, d // h
            self.query = LoRALinear(d, d, r=2, lora_alpha=4)
            self.key = nn.Linear(d, d)
            self.value = LoRALinear(d, d, r=2, lora_alpha=4, fan_in_fan_out=True)
            self.out = nn.Linear(d, d)
            self.norm = nn.LayerNorm(d, eps=1e-12)
        def transpose_for_scores(self, x):
            new_x_shape = x.size()[:-1] + (self.h, self.dh)
            return x.view(new_x_shape).permute(0, 2, 1, 3)
        def forward(self, x, ext_mask):
            q, k, v = (self.transpose_for_scores(f(x)) for f in (self.query, self.key, self.value))
            scores = T.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.dh) + ext_mask
            probs = nn.functional.softmax(scores, dim=-1)
            ctx = T.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
            ctx = ctx.view(ctx.size()[:-2] + (self.h * self.dh,))
            return self.norm(self.out(ctx) + x)
    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.word_embeddings = nn.Embedding(30, 8, padding_idx=0)
            self.position_embeddings = nn.Embedding(16, 8)
            self.LayerNorm = nn.LayerNorm(8, eps=1e-12)
            self.layers = nn.ModuleList([SelfAttention(8, 2) for _ in range(2)])
            self.pooler = nn.Linear(8, 8)
            self.classifier = nn.Linear(8, 3)
        def forward(self, input_ids, attention_mask):
            pos = T.arange(input_ids.size(1), dtype=T.long).unsqueeze(0).expand_as(input_ids)
            x = self.LayerNorm(self.word_embeddings(input_ids) + self.position_embeddings(pos))
            ext = attention_mask[:, None, None, :].to(dtype=x.dtype)
            ext = (1.0 - ext) * T.finfo(x.dtype).min
            for layer in self.layers:
                x = layer(x, ext)
            return self.classifier(T.tanh(self.pooler(x[:, 0])))
    model = Classifier()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    for n, p in model.named_parameters():
        if 'lora_' not in n:
            p.requires_grad = False
    for p in model.classifier.parameters():
        p.requires_grad = True
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = T.optim.AdamW(trainable, lr=1e-2, weight_decay=0.01)
    out = [[n for n, p in model.named_parameters() if p.requires_grad]]
    model.train()
    for x, m, y in zip(ids, mask, labels):
        logits = model(T.tensor(x), T.tensor(m))
        loss = F.cross_entropy(logits, T.tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        out += [logits, loss, _grads(model)]
    model.eval()  # merges
    merged_w = model.layers[0].query.weight.detach().clone()
    with T.no_grad():
        merged = model(T.tensor(ids[0]), T.tensor(mask[0]))
    model.train()  # unmerges
    with T.no_grad():
        unmerged = model(T.tensor(ids[0]), T.tensor(mask[0]))
    out += [merged_w, merged, unmerged, model.state_dict()]
    return out


def test_lora_bert_classifier_merge_unmerge(torch):
    rng = _rng(6)
    sd = lora_bert(torch, None, None, None, None)
    for k in sd:
        if "lora_B" in k:
            sd[k] = rng.standard_normal(sd[k].shape) * .1
    ids = rng.integers(1, 30, (3, 4, 7))
    mask = np.ones((3, 4, 7), dtype=np.int64)
    mask[:, 1, 5:] = 0
    mask[:, 3, 3:] = 0
    ids[mask == 0] = 0
    labels = rng.integers(0, 3, (3, 4))
    tg_out, torch_out = lora_bert(tg, sd, ids, mask, labels), lora_bert(torch, sd, ids, mask, labels)
    assert _plain(tg_out[0]) == _plain(torch_out[0])
    _compare(tg_out[1:], torch_out[1:])
    np.testing.assert_allclose(_plain(torch_out[-3]), _plain(torch_out[-2]), atol=1e-12)


def t5(T, sd, src, tgt, beams):
    """A tiny T5 (HF's modelling code): RMS LayerNorm without mean or bias, unscaled attention with the relative
    position bias (_relative_position_bucket's log buckets, bidirectional in the encoder, causal in the decoder),
    computed in the first layer and shared, an extended padding mask, cross attention, the tied LM head scaled by
    d_model ** -0.5, shift_right with the decoder start token, labels with -100; Adafactor. Then generation with a
    key/value cache (self-attention cache grown by cat, cross-attention keys computed once): greedy, checked
    against recomputing the whole prefix, and beam search (topk over beams * vocab, the cache reordered by
    index_select, length-normalised finished hypotheses)."""
    nn, F = T.nn, T.nn.functional
    D, H, V, PAD, NB = 8, 2, 11, 0, 8
    class T5LayerNorm(nn.Module):
        def __init__(self, hidden_size, eps=1e-6):
            super().__init__()
            self.weight = nn.Parameter(T.ones(hidden_size))
            self.variance_epsilon = eps
        def forward(self, hidden_states):
            variance = hidden_states.pow(2).mean(-1, keepdim=True)
            hidden_states = hidden_states * T.rsqrt(variance + self.variance_epsilon)
            return self.weight * hidden_states
    class T5Attention(nn.Module):
        def __init__(self, is_decoder, has_relative_attention_bias):
            super().__init__()
            self.is_decoder, self.has_relative_attention_bias = is_decoder, has_relative_attention_bias
            self.q, self.k, self.v, self.o = (nn.Linear(D, D, bias=False) for _ in range(4))
            if has_relative_attention_bias:
                self.relative_attention_bias = nn.Embedding(NB, H)
        @staticmethod
        def _relative_position_bucket(relative_position, bidirectional=True, num_buckets=32, max_distance=128):
            relative_buckets = 0
            if bidirectional:
                num_buckets //= 2
                relative_buckets += (relative_position > 0).to(T.long) * num_buckets
                relative_position = T.abs(relative_position)
            else:
                relative_position = -T.min(relative_position, T.zeros_like(relative_position))
            max_exact = num_buckets // 2
            is_small = relative_position < max_exact
            relative_position_if_large = max_exact + (
                T.log(relative_position.float() / max_exact) / math.log(max_distance / max_exact)
                * (num_buckets - max_exact)).to(T.long)
            relative_position_if_large = T.min(relative_position_if_large,
                                               T.full_like(relative_position_if_large, num_buckets - 1))
            relative_buckets += T.where(is_small, relative_position, relative_position_if_large)
            return relative_buckets
        def compute_bias(self, query_length, key_length, offset=0):
            context_position = T.arange(query_length, dtype=T.long)[:, None] + offset
            memory_position = T.arange(key_length, dtype=T.long)[None, :]
            relative_position = memory_position - context_position
            bucket = self._relative_position_bucket(relative_position, bidirectional=(not self.is_decoder),
                                                    num_buckets=NB, max_distance=20)
            values = self.relative_attention_bias(bucket)
            return values.permute([2, 0, 1]).unsqueeze(0)
        def forward(self, hidden_states, mask=None, key_value_states=None, position_bias=None, past=None):
            batch_size, seq_length = hidden_states.shape[:2]
            def shape(states):
                return states.view(batch_size, -1, H, D // H).transpose(1, 2)
            def unshape(states):
                return states.transpose(1, 2).contiguous().view(batch_size, -1, D)
            query_states = shape(self.q(hidden_states))
            if key_value_states is None:
                key_states, value_states = shape(self.k(hidden_states)), shape(self.v(hidden_states))
                if past is not None:
                    key_states = T.cat([past[0], key_states], dim=2)
                    value_states = T.cat([past[1], value_states], dim=2)
            elif past is not None:
                key_states, value_states = past
            else:
                key_states, value_states = shape(self.k(key_value_states)), shape(self.v(key_value_states))
            scores = T.matmul(query_states, key_states.transpose(3, 2))
            if position_bias is None:
                key_length = key_states.shape[2]
                if not self.has_relative_attention_bias:
                    position_bias = T.zeros((1, H, seq_length, key_length), dtype=scores.dtype)
                else:
                    position_bias = self.compute_bias(seq_length, key_length, key_length - seq_length)
                if mask is not None:
                    position_bias = position_bias + mask
            scores += position_bias
            attn_weights = F.softmax(scores.double(), dim=-1).type_as(scores)  # (HF's .float(): float64 here)
            attn_output = unshape(T.matmul(attn_weights, value_states))
            return self.o(attn_output), position_bias, (key_states, value_states)
    class Block(nn.Module):
        def __init__(self, is_decoder, first):
            super().__init__()
            self.is_decoder = is_decoder
            self.ln1, self.sa = T5LayerNorm(D), T5Attention(is_decoder, first)
            if is_decoder:
                self.ln2, self.ca = T5LayerNorm(D), T5Attention(True, False)
            self.ln3 = T5LayerNorm(D)
            self.wi, self.wo = nn.Linear(D, 16, bias=False), nn.Linear(16, D, bias=False)
        def forward(self, x, mask, bias, enc=None, enc_mask=None, enc_bias=None, past=None):
            h, bias, kv = self.sa(self.ln1(x), mask, position_bias=bias, past=None if past is None else past[0])
            x = x + h
            cross = None
            if self.is_decoder:
                h, enc_bias, cross = self.ca(self.ln2(x), enc_mask, key_value_states=enc, position_bias=enc_bias,
                                             past=None if past is None else past[1])
                x = x + h
            x = x + self.wo(F.relu(self.wi(self.ln3(x))))
            return x, bias, enc_bias, (kv, cross)
    class T5(nn.Module):
        def __init__(self):
            super().__init__()
            self.shared = nn.Embedding(V, D)
            self.encoder = nn.ModuleList([Block(False, i == 0) for i in range(2)])
            self.decoder = nn.ModuleList([Block(True, i == 0) for i in range(2)])
            self.enc_norm, self.dec_norm = T5LayerNorm(D), T5LayerNorm(D)
        def extended(self, mask):
            return (1.0 - mask[:, None, None, :].to(T.get_default_dtype())) * T.finfo(T.get_default_dtype()).min
        def encode(self, ids, mask):
            x, bias = self.shared(ids), None
            for blk in self.encoder:
                x, bias, _, _ = blk(x, self.extended(mask) if bias is None else None, bias)
            return self.enc_norm(x)
        def decode(self, ids, enc, enc_mask, past=None):
            x, bias, enc_bias = self.shared(ids), None, None
            n, past_len = ids.shape[1], 0 if past is None else past[0][0][0].shape[2]
            causal = T.tril(T.ones(n, past_len + n), diagonal=past_len)[None, None]
            causal = (1.0 - causal) * T.finfo(T.get_default_dtype()).min
            new = []
            for i, blk in enumerate(self.decoder):
                x, bias, enc_bias, kv = blk(x, causal if bias is None else None, bias, enc,
                                            self.extended(enc_mask) if enc_bias is None else None, enc_bias,
                                            None if past is None else past[i])
                new.append(kv)
            x = self.dec_norm(x) * (D ** -0.5)
            return x @ self.shared.weight.t(), new
    def shift_right(labels):
        shifted = labels.new_zeros(labels.shape)
        shifted[..., 1:] = labels[..., :-1].clone()
        shifted[..., 0] = PAD
        return shifted.masked_fill(shifted == -100, PAD)
    model = T5()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    opt = T.optim.Adafactor(model.parameters(), lr=1e-2)
    out = []
    for s, t in zip(src, tgt):
        s, labels = T.tensor(s), T.tensor(t)
        mask = (s != PAD).long()
        logits, _ = model.decode(shift_right(labels), model.encode(s, mask), mask)
        loss = F.cross_entropy(logits.view(-1, V), labels.view(-1), ignore_index=-100)
        opt.zero_grad()
        loss.backward()
        opt.step()
        out += [logits, loss, _grads(model)]
    model.eval()
    with T.no_grad():
        s = T.tensor(src[0])
        mask = (s != PAD).long()
        enc = model.encode(s, mask)
        ids = T.full((s.shape[0], 1), PAD, dtype=T.long)
        past, steps = None, []
        for _ in range(5):  # greedy with the cache
            logits, past = model.decode(ids[:, -1:], enc, mask, past)
            steps.append(logits[:, -1])
            ids = T.cat([ids, logits[:, -1].argmax(-1, keepdim=True)], 1)
        full, _ = model.decode(ids[:, :-1], enc, mask)  # (the whole prefix again)
        out += [ids, T.stack(steps, 1), full]
        np.testing.assert_allclose(_plain(full), _plain(T.stack(steps, 1)), atol=1e-12)
        # beam search on the first sentence
        enc1, mask1 = enc[:1].expand(beams, -1, -1), mask[:1].expand(beams, -1)
        seqs = T.full((beams, 1), PAD, dtype=T.long)
        scores = T.tensor([0.0] + [-math.inf] * (beams - 1))
        past, finished = None, []
        for step in range(5):
            logits, past = model.decode(seqs[:, -1:], enc1, mask1, past)
            logp = F.log_softmax(logits[:, -1], dim=-1) + scores[:, None]
            top, idx = logp.view(-1).topk(beams)
            beam_idx, tok = T.div(idx, V, rounding_mode="floor"), idx % V
            seqs = T.cat([seqs.index_select(0, beam_idx), tok[:, None]], 1)
            past = [tuple(tuple(t.index_select(0, beam_idx) for t in kv) for kv in layer) for layer in past]
            scores = top.clone()
            for b in range(beams):
                if tok[b].item() == 1:  # (eos)
                    finished.append((scores[b].item() / (step + 1), seqs[b].tolist()))
                    scores[b] = -math.inf
        best = max(finished + [(scores[b].item() / 5, seqs[b].tolist()) for b in range(beams)])
        out += [seqs, scores, np.array(best[0]), np.array(best[1])]
    out.append(model.state_dict())
    return out


def test_t5_relative_bias_kv_cache_greedy_and_beam(torch):
    rng = _rng(7)
    sd = t5(torch, None, None, None, None)
    src = rng.integers(2, 11, (2, 3, 9))
    src[:, 1, 6:] = 0
    tgt = rng.integers(1, 11, (2, 3, 6))
    tgt[:, 2, 4:] = -100
    _compare(t5(tg, sd, src, tgt, 3), t5(torch, sd, src, tgt, 3))


def _alibi_slopes(n):
    """ALiBi's get_slopes (ofirpress/attention_with_linear_biases), a non-power-of-2 head count too."""
    def get_slopes_power_of_2(n):
        start = (2 ** (-2 ** -(math.log2(n) - 3)))
        ratio = start
        return [start * ratio ** i for i in range(n)]
    if math.log2(n).is_integer():
        return get_slopes_power_of_2(n)
    closest_power_of_2 = 2 ** math.floor(math.log2(n))
    return get_slopes_power_of_2(closest_power_of_2) + _alibi_slopes(2 * closest_power_of_2)[0::2][
        :n - closest_power_of_2]


def gpt(T, sd, batches, attn_mask, pos, ckpt):
    """A GPT-2 style LM: tied input / output embeddings (lm_head.weight = wte.weight), pre-LN blocks, positions
    by learned embeddings, LLaMA's rotary embeddings (precompute_freqs_cis with torch.polar, view_as_complex,
    view_as_real) or ALiBi (BLOOM's build_alibi_tensor from the attention mask's cumsum, a float bias with the
    causal mask into scaled_dot_product_attention); HF's AdamW parameter groups (no decay on biases and LayerNorm
    weights), get_linear_schedule_with_warmup as a LambdaLR, clip_grad_norm_, blocks run through
    torch.utils.checkpoint (non-reentrant) when ckpt; labels shifted inside, padding as -100."""
    nn, F = T.nn, T.nn.functional
    checkpoint = import_module(T.__name__ + ".utils.checkpoint").checkpoint
    D, H, V, L = 8, 4, 17, 10
    def precompute_freqs_cis(dim, end, theta=10000.0):
        freqs = 1.0 / (theta ** (T.arange(0, dim, 2)[: (dim // 2)].double() / dim))  # (LLaMA's .float())
        t = T.arange(end, device=freqs.device)
        freqs = T.outer(t, freqs).double()
        return T.polar(T.ones_like(freqs), freqs)
    def reshape_for_broadcast(freqs_cis, x):
        ndim = x.ndim
        shape = [d if i == 1 or i == ndim - 1 else 1 for i, d in enumerate(x.shape)]
        return freqs_cis.view(*shape)
    def apply_rotary_emb(xq, xk, freqs_cis):
        xq_ = T.view_as_complex(xq.double().reshape(*xq.shape[:-1], -1, 2))
        xk_ = T.view_as_complex(xk.double().reshape(*xk.shape[:-1], -1, 2))
        freqs_cis = reshape_for_broadcast(freqs_cis, xq_)
        xq_out = T.view_as_real(xq_ * freqs_cis).flatten(3)
        xk_out = T.view_as_real(xk_ * freqs_cis).flatten(3)
        return xq_out.type_as(xq), xk_out.type_as(xk)
    def build_alibi_tensor(attention_mask, num_heads, dtype):
        slopes = T.tensor(_alibi_slopes(num_heads), dtype=T.float64)
        arange_tensor = ((attention_mask.cumsum(dim=-1) - 1) * attention_mask)[:, None, :]
        alibi = slopes[..., None] * arange_tensor
        return alibi.to(dtype)  # (batch, heads, keys)
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.ln_2 = nn.LayerNorm(D), nn.LayerNorm(D)
            self.c_attn, self.c_proj = nn.Linear(D, 3 * D), nn.Linear(D, D)
            self.mlp = nn.Sequential(nn.Linear(D, 4 * D), nn.GELU(approximate="tanh"), nn.Linear(4 * D, D))
        def forward(self, x, freqs_cis, bias):
            B, S, _ = x.shape
            q, k, v = self.c_attn(self.ln_1(x)).split(D, dim=2)
            q, k, v = (t.view(B, S, H, D // H) for t in (q, k, v))
            if freqs_cis is not None:
                q, k = apply_rotary_emb(q, k, freqs_cis)
            q, k, v = (t.transpose(1, 2) for t in (q, k, v))
            if bias is None:
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
            x = x + self.c_proj(y.transpose(1, 2).contiguous().view(B, S, D))
            return x + self.mlp(self.ln_2(x))
    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(V, D)
            self.wpe = nn.Embedding(L, D) if pos == "learned" else None
            self.h = nn.ModuleList([Block() for _ in range(2)])
            self.ln_f = nn.LayerNorm(D)
            self.lm_head = nn.Linear(D, V, bias=False)
            self.lm_head.weight = self.wte.weight
            self.gradient_checkpointing = ckpt
        def forward(self, input_ids, attention_mask, labels=None):
            B, S = input_ids.shape
            x = self.wte(input_ids)
            freqs_cis, bias = None, None
            if pos == "learned":
                x = x + self.wpe(T.arange(S))
            elif pos == "rotary":
                freqs_cis = precompute_freqs_cis(D // H, L)[:S]
            if pos == "alibi":
                causal = T.full((S, S), float("-inf")).triu(1)
                pad = T.zeros(B, 1, 1, S).masked_fill(attention_mask[:, None, None, :] == 0, float("-inf"))
                bias = build_alibi_tensor(attention_mask, H, x.dtype)[:, :, None, :] + causal + pad
                bias = bias.masked_fill(T.eye(S, dtype=T.bool), 0.0)  # (a padded query still sees itself)
            for block in self.h:
                if self.gradient_checkpointing and self.training:
                    x = checkpoint(block, x, freqs_cis, bias, use_reentrant=False)
                else:
                    x = block(x, freqs_cis, bias)
            logits = self.lm_head(self.ln_f(x))
            loss = None
            if labels is not None:
                shift_logits = logits[..., :-1, :].contiguous()
                shift_labels = labels[..., 1:].contiguous()
                loss = F.cross_entropy(shift_logits.view(-1, shift_logits.size(-1)), shift_labels.view(-1))
            return loss, logits
    def get_linear_schedule_with_warmup(optimizer, num_warmup_steps, num_training_steps, last_epoch=-1):
        def lr_lambda(current_step: int):
            if current_step < num_warmup_steps:
                return float(current_step) / float(max(1, num_warmup_steps))
            return max(0.0, float(num_training_steps - current_step) /
                       float(max(1, num_training_steps - num_warmup_steps)))
        return T.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda, last_epoch)
    model = GPT()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    assert model.lm_head.weight is model.wte.weight
    no_decay = ["bias", "LayerNorm.weight", "ln_1.weight", "ln_2.weight", "ln_f.weight"]
    optimizer_grouped_parameters = [
        {"params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)],
         "weight_decay": 0.1},
        {"params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)],
         "weight_decay": 0.0}]
    optimizer = T.optim.AdamW(optimizer_grouped_parameters, lr=5e-3, eps=1e-8)
    scheduler = get_linear_schedule_with_warmup(optimizer, num_warmup_steps=1, num_training_steps=len(batches))
    out = [[len(g["params"]) for g in optimizer.param_groups]]
    model.train()
    for ids in batches:
        input_ids, mask = T.tensor(ids), T.tensor(attn_mask)
        labels = input_ids.masked_fill(mask == 0, -100)
        loss, logits = model(input_ids, mask, labels=labels)
        loss.backward()
        out += [loss, logits, _grads(model), T.nn.utils.clip_grad_norm_(model.parameters(), 1.0),
                scheduler.get_last_lr()]
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
    out.append(model.state_dict())
    return out


@pytest.mark.parametrize("pos,ckpt", [("learned", False), ("rotary", True), ("alibi", True), ("alibi", False)])
def test_gpt2_tied_lm_adamw_groups_warmup_rotary_alibi_checkpoint(torch, pos, ckpt):
    rng = _rng(8)
    sd = gpt(torch, None, None, None, pos, ckpt)
    batches = rng.integers(0, 17, (3, 3, 7))
    mask = np.ones((3, 7), dtype=np.int64)
    mask[1, 5:] = 0
    mask[2, 3:] = 0
    _compare(gpt(tg, sd, batches, mask, pos, ckpt), gpt(torch, sd, batches, mask, pos, ckpt))


def translation(T, sd, srcs, tgts):
    """PyTorch's translation_transformer tutorial (Seq2SeqTransformer over nn.Transformer, sequence-first, the
    sinusoidal PositionalEncoding buffer, TokenEmbedding * sqrt(emb_size), create_mask's float causal mask and
    bool padding masks, CrossEntropyLoss(ignore_index=PAD, label_smoothing=0.1), greedy_decode with
    model.encode / decode) plus fairseq's label_smoothed_nll_loss (gather, masked_fill_ of the padding) on the
    same log-probabilities; Adam with the tutorial's betas and eps."""
    nn = T.nn
    PAD_IDX, BOS_IDX, EOS_IDX, V, E = 1, 2, 3, 13, 8
    class PositionalEncoding(nn.Module):
        def __init__(self, emb_size, dropout, maxlen=50):
            super(PositionalEncoding, self).__init__()
            den = T.exp(- T.arange(0, emb_size, 2) * math.log(10000) / emb_size)
            pos = T.arange(0, maxlen).reshape(maxlen, 1)
            pos_embedding = T.zeros((maxlen, emb_size))
            pos_embedding[:, 0::2] = T.sin(pos * den)
            pos_embedding[:, 1::2] = T.cos(pos * den)
            pos_embedding = pos_embedding.unsqueeze(-2)
            self.dropout = nn.Dropout(dropout)
            self.register_buffer('pos_embedding', pos_embedding)
        def forward(self, token_embedding):
            return self.dropout(token_embedding + self.pos_embedding[:token_embedding.size(0), :])
    class TokenEmbedding(nn.Module):
        def __init__(self, vocab_size, emb_size):
            super(TokenEmbedding, self).__init__()
            self.embedding = nn.Embedding(vocab_size, emb_size)
            self.emb_size = emb_size
        def forward(self, tokens):
            return self.embedding(tokens.long()) * math.sqrt(self.emb_size)
    class Seq2SeqTransformer(nn.Module):
        def __init__(self, num_encoder_layers, num_decoder_layers, emb_size, nhead, src_vocab_size,
                     tgt_vocab_size, dim_feedforward=512, dropout=0.1):
            super(Seq2SeqTransformer, self).__init__()
            self.transformer = nn.Transformer(d_model=emb_size, nhead=nhead, num_encoder_layers=num_encoder_layers,
                                              num_decoder_layers=num_decoder_layers,
                                              dim_feedforward=dim_feedforward, dropout=dropout)
            self.generator = nn.Linear(emb_size, tgt_vocab_size)
            self.src_tok_emb = TokenEmbedding(src_vocab_size, emb_size)
            self.tgt_tok_emb = TokenEmbedding(tgt_vocab_size, emb_size)
            self.positional_encoding = PositionalEncoding(emb_size, dropout=dropout)
        def forward(self, src, trg, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask,
                    memory_key_padding_mask):
            src_emb = self.positional_encoding(self.src_tok_emb(src))
            tgt_emb = self.positional_encoding(self.tgt_tok_emb(trg))
            outs = self.transformer(src_emb, tgt_emb, src_mask, tgt_mask, None,
                                    src_padding_mask, tgt_padding_mask, memory_key_padding_mask)
            return self.generator(outs)
        def encode(self, src, src_mask):
            return self.transformer.encoder(self.positional_encoding(self.src_tok_emb(src)), src_mask)
        def decode(self, tgt, memory, tgt_mask):
            return self.transformer.decoder(self.positional_encoding(self.tgt_tok_emb(tgt)), memory, tgt_mask)
    def generate_square_subsequent_mask(sz):
        mask = (T.triu(T.ones((sz, sz))) == 1).transpose(0, 1)
        mask = mask.float().masked_fill(mask == 0, float('-inf')).masked_fill(mask == 1, float(0.0))
        return mask
    def create_mask(src, tgt):
        src_seq_len, tgt_seq_len = src.shape[0], tgt.shape[0]
        tgt_mask = generate_square_subsequent_mask(tgt_seq_len)
        src_mask = T.zeros((src_seq_len, src_seq_len)).type(T.bool)
        src_padding_mask = (src == PAD_IDX).transpose(0, 1)
        tgt_padding_mask = (tgt == PAD_IDX).transpose(0, 1)
        return src_mask, tgt_mask, src_padding_mask, tgt_padding_mask
    def label_smoothed_nll_loss(lprobs, target, epsilon, ignore_index=None, reduce=True):
        if target.dim() == lprobs.dim() - 1:
            target = target.unsqueeze(-1)
        nll_loss = -lprobs.gather(dim=-1, index=target)
        smooth_loss = -lprobs.sum(dim=-1, keepdim=True)
        if ignore_index is not None:
            pad_mask = target.eq(ignore_index)
            nll_loss.masked_fill_(pad_mask, 0.0)
            smooth_loss.masked_fill_(pad_mask, 0.0)
        else:
            nll_loss = nll_loss.squeeze(-1)
            smooth_loss = smooth_loss.squeeze(-1)
        if reduce:
            nll_loss = nll_loss.sum()
            smooth_loss = smooth_loss.sum()
        eps_i = epsilon / (lprobs.size(-1) - 1)
        loss = (1.0 - epsilon - eps_i) * nll_loss + eps_i * smooth_loss
        return loss, nll_loss
    transformer = Seq2SeqTransformer(2, 2, E, 2, V, V, 16, dropout=0.0)
    if sd is None:
        for p in transformer.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
        return _state(transformer)
    _load(T, transformer, sd)
    loss_fn = T.nn.CrossEntropyLoss(ignore_index=PAD_IDX, label_smoothing=0.1)
    optimizer = T.optim.Adam(transformer.parameters(), lr=0.001, betas=(0.9, 0.98), eps=1e-9)
    out = []
    transformer.train()
    for src, tgt in zip(srcs, tgts):
        src, tgt = T.tensor(src), T.tensor(tgt)
        tgt_input = tgt[:-1, :]
        src_mask, tgt_mask, src_padding_mask, tgt_padding_mask = create_mask(src, tgt_input)
        logits = transformer(src, tgt_input, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask,
                             src_padding_mask)
        optimizer.zero_grad()
        tgt_out = tgt[1:, :]
        loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))
        fs_loss, nll = label_smoothed_nll_loss(T.log_softmax(logits, -1).view(-1, V), tgt_out.reshape(-1), 0.1,
                                               ignore_index=PAD_IDX)
        (loss + 0.01 * fs_loss).backward()
        optimizer.step()
        out += [logits, loss, fs_loss, nll, _grads(transformer)]
    transformer.eval()
    src = T.tensor(srcs[0])[:, :1]
    num_tokens = src.shape[0]
    src_mask = (T.zeros(num_tokens, num_tokens)).type(T.bool)
    memory = transformer.encode(src, src_mask)
    ys = T.ones(1, 1).fill_(BOS_IDX).type(T.long)
    for i in range(num_tokens + 4):
        tgt_mask = (generate_square_subsequent_mask(ys.size(0)).type(T.bool))
        out_ = transformer.decode(ys, memory, tgt_mask)
        out_ = out_.transpose(0, 1)
        prob = transformer.generator(out_[:, -1])
        _, next_word = T.max(prob, dim=1)
        next_word = next_word.item()
        ys = T.cat([ys, T.ones(1, 1).type_as(src.data).fill_(next_word)], dim=0)
        if next_word == EOS_IDX:
            break
    out += [memory, ys, prob, transformer.state_dict()]
    return out


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True:UserWarning")
@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask:UserWarning")  # (torch's too)
def test_translation_transformer_label_smoothing_and_padding_masks(torch):
    rng = _rng(9)
    sd = translation(torch, None, None, None)
    srcs = rng.integers(4, 13, (3, 7, 4))
    tgts = rng.integers(4, 13, (3, 6, 4))
    tgts[:, 0] = 2
    for b, n in ((1, 5), (3, 3)):
        srcs[:, n:, b] = 1
        tgts[:, n - 1, b] = 3
        tgts[:, n:, b] = 1
    _compare(translation(tg, sd, srcs, tgts), translation(torch, sd, srcs, tgts))


def dlrm_qr_split(T, sd, batches, save_at):
    """DLRM's QREmbeddingBag (the quotient-remainder trick: two sparse EmbeddingBags indexed by
    torch.remainder and floor division, combined by 'mult'), plain Embedding(sparse=True) tables, a dense MLP; the
    common split of optimizers (SparseAdam for the sparse tables, Adam for the rest, both stepped); a checkpoint of
    the model and both optimizers through torch.save / torch.load (a BytesIO) taken mid-run and resumed into new
    objects."""
    nn, F = T.nn, T.nn.functional
    class QREmbeddingBag(nn.Module):
        def __init__(self, num_categories, embedding_dim, num_collisions, operation="mult", mode="sum",
                     sparse=True):
            super(QREmbeddingBag, self).__init__()
            self.num_categories, self.num_collisions, self.operation = num_categories, num_collisions, operation
            self.num_embeddings = [int(np.ceil(num_categories / num_collisions)), num_collisions]
            self.weight_q = nn.Parameter(T.Tensor(self.num_embeddings[0], embedding_dim))
            self.weight_r = nn.Parameter(T.Tensor(self.num_embeddings[1], embedding_dim))
            self.mode, self.sparse = mode, sparse
            nn.init.uniform_(self.weight_q, np.sqrt(1 / self.num_categories))
            nn.init.uniform_(self.weight_r, np.sqrt(1 / self.num_categories))
        def forward(self, input, offsets=None, per_sample_weights=None):
            input_q = (input / self.num_collisions).long()
            input_r = T.remainder(input, self.num_collisions).long()
            embed_q = F.embedding_bag(input_q, self.weight_q, offsets, mode=self.mode, sparse=self.sparse,
                                      per_sample_weights=per_sample_weights)
            embed_r = F.embedding_bag(input_r, self.weight_r, offsets, mode=self.mode, sparse=self.sparse,
                                      per_sample_weights=per_sample_weights)
            if self.operation == "concat":
                return T.cat((embed_q, embed_r), dim=1)
            elif self.operation == "add":
                return embed_q + embed_r
            return embed_q * embed_r
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.qr = QREmbeddingBag(23, 4, 5)
            self.tab = nn.Embedding(9, 4, sparse=True)
            self.bot = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
            self.top = nn.Sequential(nn.Linear(12, 6), nn.ReLU(), nn.Linear(6, 1))
        def forward(self, dense, idx, off, psw, cat):
            return self.top(T.cat([self.bot(dense), self.qr(idx, off, psw), self.tab(cat)], 1)).squeeze(1)
    def make():
        model = Net()
        _load(T, model, sd)
        sparse_params = [model.qr.weight_q, model.qr.weight_r, model.tab.weight]
        dense_params = [p for p in model.parameters() if all(p is not q for q in sparse_params)]
        return model, T.optim.SparseAdam(sparse_params, lr=0.05), T.optim.Adam(dense_params, lr=0.01)
    if sd is None:
        return _state(Net())
    model, opt_s, opt_d = make()
    out = []
    for step, (dense, idx, off, psw, cat, y) in enumerate(batches):
        if step == save_at:
            buf = io.BytesIO()
            T.save({"model": model.state_dict(), "opt_s": opt_s.state_dict(), "opt_d": opt_d.state_dict()}, buf)
            buf.seek(0)
            ck = T.load(buf)
            model, opt_s, opt_d = make()
            model.load_state_dict(ck["model"])
            opt_s.load_state_dict(ck["opt_s"])
            opt_d.load_state_dict(ck["opt_d"])
        logit = model(T.tensor(dense), T.tensor(idx), T.tensor(off), T.tensor(psw), T.tensor(cat))
        loss = F.binary_cross_entropy_with_logits(logit, T.tensor(y))
        opt_s.zero_grad()
        opt_d.zero_grad()
        loss.backward()
        out += [logit, loss, _grads(model)]
        opt_s.step()
        opt_d.step()
    out += [model.state_dict(), [s["exp_avg_sq"] for s in opt_s.state_dict()["state"].values()]]
    return out


def test_dlrm_qr_embeddings_split_optimizers_and_resume(torch):
    rng = _rng(10)
    sd = dlrm_qr_split(torch, None, None, None)
    batches = []
    for _ in range(4):
        lens = rng.integers(1, 4, 5)
        n = lens.sum()
        offsets = np.concatenate([[0], np.cumsum(lens)[:-1]])
        batches.append((rng.standard_normal((5, 3)), rng.integers(0, 23, n), offsets,
                        rng.uniform(0.5, 1.5, n), rng.integers(0, 9, 5), rng.integers(0, 2, 5).astype(float)))
    _compare(dlrm_qr_split(tg, sd, batches, 2), dlrm_qr_split(torch, sd, batches, 2))


class _SparseRows:
    """A bag-of-words dataset of sparse COO rows (label, torch.sparse_coo_tensor of shape (vocab,))."""
    def __init__(self, T, rows, labels, vocab):
        self.items = [(T.sparse_coo_tensor(T.tensor([list(r)]), T.tensor([float(c) for c in r.values()]), (vocab,)),
                       float(y)) for r, y in zip(rows, labels)]
    def __len__(self):
        return len(self.items)
    def __getitem__(self, i):
        return self.items[i]


class _SparseCollate:
    def __init__(self, T):
        self.T = T
    def __call__(self, batch):
        T = self.T
        idx = T.cat([T.stack([T.full_like(x.coalesce().indices()[0], b), x.coalesce().indices()[0]])
                     for b, (x, _) in enumerate(batch)], 1)
        val = T.cat([x.coalesce().values() for x, _ in batch])
        return T.sparse_coo_tensor(idx, val, (len(batch), batch[0][0].shape[0])), T.tensor([y for _, y in batch])


def sparse_logreg(T, sd, rows, labels, perm, num_workers):
    """Logistic regression on sparse bag-of-words rows: a Dataset of sparse COO tensors batched by a collate_fn
    into one sparse (batch, vocab) matrix, through a DataLoader with worker processes (the sparse tensors pickled
    across), torch.sparse.mm into a dense weight, BCE with L2 weight decay by SGD."""
    nn, F = T.nn, T.nn.functional
    data = import_module(T.__name__ + ".utils.data")
    class LogReg(nn.Module):
        def __init__(self, vocab):
            super().__init__()
            self.weight = nn.Parameter(T.zeros(vocab, 1))
            self.bias = nn.Parameter(T.zeros(1))
        def forward(self, x):
            return (T.sparse.mm(x, self.weight) + self.bias).squeeze(1)
    model = LogReg(15)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    ds = _SparseRows(T, rows, labels, 15)
    loader = data.DataLoader(ds, batch_size=3, sampler=list(perm), collate_fn=_SparseCollate(T),
                             num_workers=num_workers)
    opt = T.optim.SGD(model.parameters(), lr=0.5, momentum=0.9, weight_decay=1e-3)
    out = []
    for x, y in loader:
        assert x.is_sparse
        logit = model(x)
        loss = F.binary_cross_entropy_with_logits(logit, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        out += [x, logit, loss, _grads(model)]
    return out + [model.state_dict()]


@pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled:UserWarning")  # (torch's)
@pytest.mark.parametrize("num_workers", [0, 2])
def test_sparse_bag_of_words_rows_through_dataloader_workers(torch, num_workers):
    rng = _rng(11)
    sd = sparse_logreg(torch, None, None, None, None, None)
    sd["weight"] = rng.standard_normal((15, 1)) * .1
    rows = [{int(k): int(c) for k, c in zip(rng.choice(15, 3, replace=False), rng.integers(1, 4, 3))}
            for _ in range(9)]
    labels = rng.integers(0, 2, 9)
    perm = rng.permutation(9)
    _compare(sparse_logreg(tg, sd, rows, labels, perm, num_workers),
             sparse_logreg(torch, sd, rows, labels, perm, 0))


def sasrec(T, sd, batches, eval_seq, eval_items):
    """SASRec (pmixer/SASRec.pytorch): item and position embeddings with padding_idx 0 scaled in place, sequence-
    first MultiheadAttention with a bool causal attn_mask, a point-wise Conv1d feed-forward adding its input in
    place, BCEWithLogits on the positions np.where(pos != 0) picks, an L2 term by torch.norm on the item
    embedding; torch.LongTensor of numpy arrays, xavier_normal_ tried on every parameter (1-d ones raise), the
    padding rows zeroed through .data; evaluation ranks by argsort().argsort()."""
    class PointWiseFeedForward(T.nn.Module):
        def __init__(self, hidden_units, dropout_rate):
            super(PointWiseFeedForward, self).__init__()
            self.conv1 = T.nn.Conv1d(hidden_units, hidden_units, kernel_size=1)
            self.dropout1 = T.nn.Dropout(p=dropout_rate)
            self.relu = T.nn.ReLU()
            self.conv2 = T.nn.Conv1d(hidden_units, hidden_units, kernel_size=1)
            self.dropout2 = T.nn.Dropout(p=dropout_rate)
        def forward(self, inputs):
            outputs = self.dropout2(self.conv2(self.relu(self.dropout1(self.conv1(inputs.transpose(-1, -2))))))
            outputs = outputs.transpose(-1, -2)
            outputs += inputs
            return outputs
    class SASRec(T.nn.Module):
        def __init__(self, user_num, item_num, hidden_units=8, maxlen=6, num_blocks=2, num_heads=2,
                     dropout_rate=0.0):
            super(SASRec, self).__init__()
            self.user_num, self.item_num = user_num, item_num
            self.item_emb = T.nn.Embedding(self.item_num + 1, hidden_units, padding_idx=0)
            self.pos_emb = T.nn.Embedding(maxlen + 1, hidden_units, padding_idx=0)
            self.emb_dropout = T.nn.Dropout(p=dropout_rate)
            self.attention_layernorms = T.nn.ModuleList()
            self.attention_layers = T.nn.ModuleList()
            self.forward_layernorms = T.nn.ModuleList()
            self.forward_layers = T.nn.ModuleList()
            self.last_layernorm = T.nn.LayerNorm(hidden_units, eps=1e-8)
            for _ in range(num_blocks):
                self.attention_layernorms.append(T.nn.LayerNorm(hidden_units, eps=1e-8))
                self.attention_layers.append(T.nn.MultiheadAttention(hidden_units, num_heads, dropout_rate))
                self.forward_layernorms.append(T.nn.LayerNorm(hidden_units, eps=1e-8))
                self.forward_layers.append(PointWiseFeedForward(hidden_units, dropout_rate))
        def log2feats(self, log_seqs):
            seqs = self.item_emb(T.LongTensor(log_seqs))
            seqs *= self.item_emb.embedding_dim ** 0.5
            poss = np.tile(np.arange(1, log_seqs.shape[1] + 1), [log_seqs.shape[0], 1])
            poss *= (log_seqs != 0)
            seqs += self.pos_emb(T.LongTensor(poss))
            seqs = self.emb_dropout(seqs)
            tl = seqs.shape[1]
            attention_mask = ~T.tril(T.ones((tl, tl), dtype=T.bool))
            for i in range(len(self.attention_layers)):
                seqs = T.transpose(seqs, 0, 1)
                Q = self.attention_layernorms[i](seqs)
                mha_outputs, _ = self.attention_layers[i](Q, seqs, seqs, attn_mask=attention_mask)
                seqs = Q + mha_outputs
                seqs = T.transpose(seqs, 0, 1)
                seqs = self.forward_layernorms[i](seqs)
                seqs = self.forward_layers[i](seqs)
            return self.last_layernorm(seqs)
        def forward(self, user_ids, log_seqs, pos_seqs, neg_seqs):
            log_feats = self.log2feats(log_seqs)
            pos_embs = self.item_emb(T.LongTensor(pos_seqs))
            neg_embs = self.item_emb(T.LongTensor(neg_seqs))
            return (log_feats * pos_embs).sum(dim=-1), (log_feats * neg_embs).sum(dim=-1)
        def predict(self, user_ids, log_seqs, item_indices):
            log_feats = self.log2feats(log_seqs)
            final_feat = log_feats[:, -1, :]
            item_embs = self.item_emb(T.LongTensor(item_indices))
            return item_embs.matmul(final_feat.unsqueeze(-1)).squeeze(-1)
    model = SASRec(5, 12)
    if sd is None:
        for name, param in model.named_parameters():
            try:
                T.nn.init.xavier_normal_(param.data)
            except Exception:
                pass
        model.pos_emb.weight.data[0, :] = 0
        model.item_emb.weight.data[0, :] = 0
        return _state(model)
    _load(T, model, sd)
    model.train()
    bce_criterion = T.nn.BCEWithLogitsLoss()
    adam_optimizer = T.optim.Adam(model.parameters(), lr=0.01, betas=(0.9, 0.98))
    out = []
    for u, seq, pos, neg in batches:
        pos_logits, neg_logits = model(u, seq, pos, neg)
        pos_labels, neg_labels = T.ones(pos_logits.shape), T.zeros(neg_logits.shape)
        adam_optimizer.zero_grad()
        indices = np.where(pos != 0)
        loss = bce_criterion(pos_logits[indices], pos_labels[indices])
        loss += bce_criterion(neg_logits[indices], neg_labels[indices])
        for param in model.item_emb.parameters():
            loss += 1e-3 * T.norm(param)
        loss.backward()
        adam_optimizer.step()
        out += [pos_logits, neg_logits, loss, _grads(model)]
    model.eval()
    with T.no_grad():
        predictions = -model.predict(*[np.array(a) for a in [[1], [eval_seq], eval_items]])
        predictions = predictions[0]
        rank = predictions.argsort().argsort()[0].item()
    out += [predictions, np.array(rank), model.state_dict()]
    return out


def test_sasrec_sequential_recommendation(torch):
    rng = _rng(12)
    sd = sasrec(torch, None, None, None, None)
    ours = sasrec(tg, None, None, None, None)  # (the init loop runs here too: 1-d parameters raise, as torch's)
    assert list(ours) == list(sd) and not ours["item_emb.weight"][0].any() and not ours["pos_emb.weight"][0].any()
    batches = []
    for _ in range(3):
        seq = rng.integers(1, 13, (4, 6))
        seq[0, :2] = 0
        seq[2, :4] = 0
        pos = np.concatenate([seq[:, 1:], rng.integers(1, 13, (4, 1))], 1)
        pos[seq == 0] = 0
        batches.append((rng.integers(1, 6, 4), seq, pos, rng.integers(1, 13, (4, 6))))
    eval_seq, eval_items = np.array([0, 3, 5, 7, 2, 9]), rng.permutation(np.arange(1, 13))[:6]
    _compare(sasrec(tg, sd, batches, eval_seq, eval_items), sasrec(torch, sd, batches, eval_seq, eval_items))


class _PadCollate:
    """HF's DataCollatorWithPadding for (input_ids, label) pairs: pad_sequence(batch_first=True) + attention mask."""
    def __init__(self, T, pad):
        self.T, self.pad = T, pad
    def __call__(self, batch):
        T = self.T
        rnn = import_module(T.__name__ + ".nn.utils.rnn")
        ids = rnn.pad_sequence([T.tensor(x) for x, _ in batch], batch_first=True, padding_value=self.pad)
        return {"input_ids": ids, "attention_mask": (ids != self.pad).long(),
                "labels": T.tensor([y for _, y in batch])}


def sbert(T, sd, pairs, sents, num_workers):
    """Sentence-transformers style fine-tuning: an encoder with HF's _init_weights applied by model.apply
    (normal_ on .data, the padding row zeroed), resize_token_embeddings (a new Embedding, old rows copied through
    .data), soft prompt tuning (a prompt Parameter concatenated in front, the backbone frozen by
    requires_grad_(False) but for the top layer), masked mean pooling with clamp(min=1e-9),
    MultipleNegativesRankingLoss (cosine similarities * 20, cross entropy on the diagonal); layer-wise learning
    rate decay as parameter groups, a cosine schedule with warmup (LambdaLR), gradient accumulation over 2 batches
    from a DataLoader with a padding collator (workers too)."""
    nn, F = T.nn, T.nn.functional
    data = import_module(T.__name__ + ".utils.data")
    D, PAD = 8, 0
    class Encoder(nn.Module):
        def __init__(self, vocab):
            super().__init__()
            self.embeddings = nn.Embedding(vocab, D, padding_idx=PAD)
            self.layers = nn.ModuleList([nn.TransformerEncoderLayer(D, 2, 16, dropout=0.0, batch_first=True,
                                                                    norm_first=True) for _ in range(2)])
            self.prompt = nn.Parameter(T.zeros(2, D))
            self.apply(self._init_weights)
        def _init_weights(self, module):
            if isinstance(module, nn.Linear):
                module.weight.data.normal_(mean=0.0, std=0.02)
                if module.bias is not None:
                    module.bias.data.zero_()
            elif isinstance(module, nn.Embedding):
                module.weight.data.normal_(mean=0.0, std=0.02)
                if module.padding_idx is not None:
                    module.weight.data[module.padding_idx].zero_()
            elif isinstance(module, nn.LayerNorm):
                module.bias.data.zero_()
                module.weight.data.fill_(1.0)
        def resize_token_embeddings(self, new_num_tokens):
            old = self.embeddings
            new_embeddings = nn.Embedding(new_num_tokens, D, padding_idx=PAD)
            self._init_weights(new_embeddings)
            n = min(old.num_embeddings, new_num_tokens)
            new_embeddings.weight.data[:n, :] = old.weight.data[:n, :]
            self.embeddings = new_embeddings
            return self.embeddings
        def forward(self, input_ids, attention_mask):
            x = self.embeddings(input_ids)
            x = T.cat([self.prompt.unsqueeze(0).expand(x.shape[0], -1, -1), x], 1)
            mask = T.cat([T.ones(x.shape[0], 2, dtype=attention_mask.dtype), attention_mask], 1)
            for layer in self.layers:
                x = layer(x, src_key_padding_mask=mask == 0)
            token_embeddings = x
            input_mask_expanded = mask.unsqueeze(-1).expand(token_embeddings.size()).to(token_embeddings.dtype)
            return T.sum(token_embeddings * input_mask_expanded, 1) / T.clamp(input_mask_expanded.sum(1), min=1e-9)
    def cos_sim(a, b):
        a_norm = F.normalize(a, p=2, dim=1)
        b_norm = F.normalize(b, p=2, dim=1)
        return T.mm(a_norm, b_norm.transpose(0, 1))
    def get_cosine_schedule_with_warmup(optimizer, num_warmup_steps, num_training_steps, num_cycles=0.5):
        def lr_lambda(current_step):
            if current_step < num_warmup_steps:
                return float(current_step) / float(max(1, num_warmup_steps))
            progress = float(current_step - num_warmup_steps) / float(max(1, num_training_steps - num_warmup_steps))
            return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress)))
        return T.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda, -1)
    model = Encoder(12)
    if sd is None:
        model.resize_token_embeddings(15)
        return _state(model)
    model = Encoder(12)
    _load(T, model, {k: v[:12] if k == "embeddings.weight" else v for k, v in sd.items()})
    model.resize_token_embeddings(15)
    with T.no_grad():
        model.embeddings.weight[12:] = T.tensor(sd["embeddings.weight"][12:])
    model.requires_grad_(False)
    model.prompt.requires_grad_(True)
    model.layers[1].requires_grad_(True)
    groups, lr, decay = [], 1e-2, 0.5
    for i, layer in reversed(list(enumerate(model.layers))):
        groups.append({"params": [p for p in layer.parameters() if p.requires_grad], "lr": lr})
        lr *= decay
    groups.append({"params": [model.prompt], "lr": lr})
    groups = [g for g in groups if g["params"]]
    optimizer = T.optim.AdamW(groups, weight_decay=0.01)
    scheduler = get_cosine_schedule_with_warmup(optimizer, 1, 3)
    loader_a = data.DataLoader(pairs, batch_size=3, collate_fn=_PadCollate(T, PAD), num_workers=num_workers)
    loader_b = data.DataLoader(sents, batch_size=3, collate_fn=_PadCollate(T, PAD))
    out = []
    for step, (a, b) in enumerate(zip(loader_a, loader_b)):
        emb_a = model(a["input_ids"], a["attention_mask"])
        emb_b = model(b["input_ids"], b["attention_mask"])
        scores = cos_sim(emb_a, emb_b) * 20.0
        labels = T.arange(len(scores), dtype=T.long)
        loss = F.cross_entropy(scores, labels) / 2
        loss.backward()
        out += [a["input_ids"], emb_a, scores, loss]
        if step % 2 == 1:
            out += [_grads(model), scheduler.get_last_lr()]
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
    out.append(model.state_dict())
    return out


def test_sentence_transformers_prompt_tuning_llrd_and_resized_embeddings(torch):
    rng = _rng(13)
    sd = sbert(torch, None, None, None, None)
    pairs = [(list(rng.integers(1, 15, rng.integers(2, 6))), 0) for _ in range(12)]
    sents = [(list(rng.integers(1, 15, rng.integers(2, 6))), 0) for _ in range(12)]
    ours, theirs = sbert(tg, sd, pairs, sents, 2), sbert(torch, sd, pairs, sents, 0)
    _compare(ours[:-1], theirs[:-1])
    # (the key bias's gradient is 0 but for rounding: AdamW moves it by lr * noise / eps, ~1e-10, differently)
    _compare(ours[-1], theirs[-1], tol=1e-9)


def minlora(T, sd, xs, ys):
    """minLoRA (cccntu/minLoRA): LoRA as a parametrization (register_parametrization on Linear / Embedding
    weights through model.apply, fan_in_fan_out for the embedding), only lora_ parameters trained, a LoRA-only
    state dict saved (name filter) and loaded with strict=False into a fresh model (missing / unexpected keys
    reported), merged with remove_parametrizations(leave_parametrized=True); the merged model matches."""
    nn, F = T.nn, T.nn.functional
    parametrize = import_module(T.__name__ + ".nn.utils.parametrize")
    class LoRAParametrization(nn.Module):
        def __init__(self, fan_in, fan_out, fan_in_fan_out=False, rank=4, lora_dropout_p=0.0, lora_alpha=1):
            super().__init__()
            self.swap = (lambda x: (x[1], x[0])) if fan_in_fan_out else (lambda x: x)
            self.lora_A = nn.Parameter(T.zeros(self.swap((rank, fan_in))))
            self.lora_B = nn.Parameter(T.zeros(self.swap((fan_out, rank))))
            nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
            self.lora_alpha, self.rank = lora_alpha, rank
            self.scaling = lora_alpha / rank
            self.lora_dropout = nn.Dropout(p=lora_dropout_p) if lora_dropout_p > 0 else lambda x: x
            self.dropout_fn = self._dropout if lora_dropout_p > 0 else lambda x: x
            self.register_buffer("lora_dropout_mask", T.ones(self.swap((1, fan_in)), dtype=self.lora_A.dtype))
            self.forward_fn = self.lora_forward
        def _dropout(self, A):
            return A * self.lora_dropout(self.lora_dropout_mask)
        def lora_forward(self, X):
            return X + T.matmul(*self.swap((self.lora_B, self.dropout_fn(self.lora_A)))).view(X.shape) \
                * self.scaling
        def forward(self, X):
            return self.forward_fn(X)
        @classmethod
        def from_linear(cls, layer, rank=4, lora_dropout_p=0.0, lora_alpha=1):
            fan_out, fan_in = layer.weight.shape
            return cls(fan_in, fan_out, fan_in_fan_out=False, rank=rank, lora_dropout_p=lora_dropout_p,
                       lora_alpha=lora_alpha)
        @classmethod
        def from_embedding(cls, layer, rank=4, lora_dropout_p=0.0, lora_alpha=1):
            fan_in, fan_out = layer.weight.shape
            return cls(fan_in, fan_out, fan_in_fan_out=True, rank=rank, lora_dropout_p=lora_dropout_p,
                       lora_alpha=lora_alpha)
    default_lora_config = {nn.Embedding: {"weight": LoRAParametrization.from_embedding},
                           nn.Linear: {"weight": LoRAParametrization.from_linear}}
    def apply_lora(layer, register=True, merge=False, lora_config=default_lora_config):
        if register:
            if type(layer) in lora_config:
                for attr_name, parametrization in lora_config[type(layer)].items():
                    parametrize.register_parametrization(layer, attr_name, parametrization(layer))
        else:
            if hasattr(layer, "parametrizations"):
                for attr_name in list(layer.parametrizations.keys()):
                    parametrize.remove_parametrizations(layer, attr_name, leave_parametrized=merge)
    def name_is_lora(name):
        return len(name.split(".")) >= 4 and (name.split(".")[-4]) == "parametrizations" \
            and name.split(".")[-1] in ["lora_A", "lora_B"]
    def get_lora_state_dict(model):
        return {k: v for k, v in model.state_dict().items() if name_is_lora(k)}
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 6)
            self.fc1, self.fc2 = nn.Linear(6, 6), nn.Linear(6, 3)
        def forward(self, x):
            return self.fc2(F.gelu(self.fc1(self.emb(x).mean(1))))
    def build():
        model = Net()
        _load(T, model, {k: v for k, v in sd.items() if "lora" not in k and "parametrizations" not in k})
        model.apply(apply_lora)
        return model
    if sd is None:
        model = Net()
        base = _state(model)
        model.apply(apply_lora)
        return {**base, **_state(model)}
    model = build()
    model.load_state_dict({k: T.tensor(v) for k, v in sd.items() if name_is_lora(k)}, strict=False)
    params = [p for n, p in model.named_parameters() if name_is_lora(n)]
    for n, p in model.named_parameters():
        p.requires_grad = name_is_lora(n)
    opt = T.optim.Adam(params, lr=0.02)
    out = [sorted(n for n, p in model.named_parameters() if p.requires_grad)]
    for x, y in zip(xs, ys):
        loss = F.cross_entropy(model(T.tensor(x)), T.tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        out += [loss, _grads(model)]
    lora_sd = get_lora_state_dict(model)
    fresh = build()
    result = fresh.load_state_dict(lora_sd, strict=False)
    out.append([sorted(result.missing_keys), sorted(result.unexpected_keys)])
    with T.no_grad():
        before = model(T.tensor(xs[0]))
        fresh_out = fresh(T.tensor(xs[0]))
        model.apply(lambda m: apply_lora(m, register=False, merge=True))
        after = model(T.tensor(xs[0]))
    out += [before, fresh_out, after, model.state_dict(), lora_sd]
    return out


def test_minlora_parametrizations_merge_and_lora_only_checkpoint(torch):
    rng = _rng(14)
    sd = minlora(torch, None, None, None)
    for k in sd:
        if k.endswith("lora_B"):
            sd[k] = rng.standard_normal(sd[k].shape) * .1
    xs, ys = rng.integers(0, 10, (3, 5, 4)), rng.integers(0, 3, (3, 5))
    ours, theirs = minlora(tg, sd, xs, ys), minlora(torch, sd, xs, ys)
    assert ours[0] == theirs[0] and ours[-6] == theirs[-6]
    _compare(ours[1:-6] + ours[-5:], theirs[1:-6] + theirs[-5:])
    np.testing.assert_allclose(_plain(theirs[-5]), _plain(theirs[-3]), atol=1e-12)


def sampling(T, sd, prompt, uniforms):
    """HF-style decoding of a small GRU LM with a hidden-state cache: repetition penalty (gather, where, scatter_),
    temperature, top_k_top_p_filtering (topk()[0][..., -1, None], sort, cumsum of softmax, the shift that keeps the
    first token over the threshold, scatter back to the unsorted order, masked_fill with -inf), sampling by
    inverse CDF with searchsorted from given uniforms (torch.multinomial's draws differ), then the sequences' log
    likelihood with its gradient."""
    nn, F = T.nn, T.nn.functional
    V = 13
    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.rnn, self.out = nn.Embedding(V, 8), nn.GRU(8, 8, batch_first=True), nn.Linear(8, V)
        def forward(self, ids, h=None):
            o, h = self.rnn(self.emb(ids), h)
            return self.out(o), h
    def top_k_top_p_filtering(logits, top_k=0, top_p=1.0, filter_value=-float("Inf"), min_tokens_to_keep=1):
        if top_k > 0:
            top_k = min(max(top_k, min_tokens_to_keep), logits.size(-1))
            indices_to_remove = logits < T.topk(logits, top_k)[0][..., -1, None]
            logits[indices_to_remove] = filter_value
        if top_p < 1.0:
            sorted_logits, sorted_indices = T.sort(logits, descending=True)
            cumulative_probs = T.cumsum(F.softmax(sorted_logits, dim=-1), dim=-1)
            sorted_indices_to_remove = cumulative_probs > top_p
            if min_tokens_to_keep > 1:
                sorted_indices_to_remove[..., :min_tokens_to_keep] = 0
            sorted_indices_to_remove[..., 1:] = sorted_indices_to_remove[..., :-1].clone()
            sorted_indices_to_remove[..., 0] = 0
            indices_to_remove = sorted_indices_to_remove.scatter(1, sorted_indices, sorted_indices_to_remove)
            logits[indices_to_remove] = filter_value
        return logits
    model = LM()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    model.eval()
    out = []
    for top_k, top_p in ((0, 0.8), (4, 1.0), (5, 0.6)):
        ids = T.tensor(prompt)
        with T.no_grad():
            logits, h = model(ids)
            for step in range(6):
                next_logits = logits[:, -1, :] / 0.7
                score = T.gather(next_logits, 1, ids)
                score = T.where(score < 0, score * 1.3, score / 1.3)
                next_logits.scatter_(1, ids, score)
                filtered = top_k_top_p_filtering(next_logits, top_k=top_k, top_p=top_p, min_tokens_to_keep=2)
                probs = F.softmax(filtered, dim=-1)
                cdf = T.cumsum(probs, -1)
                u = T.tensor(uniforms[step])[:, None] * cdf[:, -1:]
                next_token = T.searchsorted(cdf, u).clamp(max=V - 1)
                ids = T.cat([ids, next_token], dim=-1)
                logits, h = model(next_token, h)
                out += [filtered, probs]
        out.append(ids)
        model.zero_grad()
        logits, _ = model(ids[:, :-1])
        nll = F.cross_entropy(logits.reshape(-1, V), ids[:, 1:].reshape(-1), reduction="none").view(ids.shape[0], -1)
        nll.sum(1).mean().backward()
        out += [nll, _grads(model)]
    return out


def test_generation_filters_repetition_penalty_and_searchsorted_sampling(torch):
    rng = _rng(15)
    sd = sampling(torch, None, None, None)
    prompt, uniforms = rng.integers(0, 13, (3, 4)), rng.uniform(size=(6, 3))
    _compare(sampling(tg, sd, prompt, uniforms), sampling(torch, sd, prompt, uniforms))


def switch_moe(T, sd, xs, ys):
    """A Switch-Transformer feed-forward (top-1 routing with router z-loss and the load-balancing loss from
    one_hot means, expert capacity enforced by a cumsum over the one-hot dispatch, dropped tokens passed through,
    tokens gathered per expert by nonzero and written back by index_add_), in a classifier trained with Adam."""
    nn, F = T.nn, T.nn.functional
    E, D, CAP = 4, 6, 3
    class SwitchFFN(nn.Module):
        def __init__(self):
            super().__init__()
            self.router = nn.Linear(D, E, bias=False)
            self.experts = nn.ModuleList([nn.Sequential(nn.Linear(D, 12), nn.ReLU(), nn.Linear(12, D))
                                          for _ in range(E)])
        def forward(self, x):
            B, S, _ = x.shape
            tokens = x.reshape(-1, D)
            router_logits = self.router(tokens)
            z_loss = T.logsumexp(router_logits, dim=-1).pow(2).mean()
            probs = F.softmax(router_logits, dim=-1)
            gate, expert_index = probs.max(dim=-1)
            one_hot = F.one_hot(expert_index, num_classes=E)
            position = T.cumsum(one_hot, dim=0) * one_hot
            keep = (position <= CAP).any(-1) & (position > 0).any(-1)
            keep = keep & ((position * one_hot).sum(-1) <= CAP)
            density = one_hot.float().mean(0)
            density_proxy = probs.mean(0)
            aux_loss = (density * density_proxy).mean() * E * E
            out = tokens.clone()
            for e in range(E):
                idx = T.nonzero((expert_index == e) & keep, as_tuple=True)[0]
                if idx.numel() == 0:
                    continue
                routed = self.experts[e](tokens[idx]) * gate[idx].unsqueeze(-1)
                out = out.index_add(0, idx, routed - tokens[idx])
            return out.view(B, S, D), aux_loss, z_loss
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp, self.moe, self.norm, self.head = nn.Linear(3, D), SwitchFFN(), nn.LayerNorm(D), nn.Linear(D, 2)
        def forward(self, x):
            h = self.inp(x)
            m, aux, z = self.moe(h)
            return self.head(self.norm(h + m).mean(1)), aux, z
    model = Net()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    opt = T.optim.Adam(model.parameters(), lr=0.01)
    out = []
    for x, y in zip(xs, ys):
        logits, aux, z = model(T.tensor(x))
        loss = F.cross_entropy(logits, T.tensor(y)) + 0.01 * aux + 0.001 * z
        opt.zero_grad()
        loss.backward()
        opt.step()
        out += [logits, aux, z, loss, _grads(model)]
    return out + [model.state_dict()]


def test_switch_transformer_moe_routing(torch):
    rng = _rng(16)
    sd = switch_moe(torch, None, None, None)
    xs, ys = rng.standard_normal((3, 2, 5, 3)), rng.integers(0, 2, (3, 2))
    _compare(switch_moe(tg, sd, xs, ys), switch_moe(torch, sd, xs, ys))


def din_dcn(T, sd, batches):
    """Deep Interest Network (local activation unit over the behaviour sequence with a padding mask, masked
    softmax-free weighted sum, the Dice activation with BatchNorm1d(affine=False)) and a DCN-v2 cross network
    (x0 * (W x + b) + x) side by side, BCE with logits, Adam with weight decay on the embeddings only."""
    nn, F = T.nn, T.nn.functional
    D = 4
    class Dice(nn.Module):
        def __init__(self, num_features, dim=2):
            super(Dice, self).__init__()
            self.bn = nn.BatchNorm1d(num_features, eps=1e-9, affine=False)
            self.sigmoid, self.dim = nn.Sigmoid(), dim
            self.alpha = nn.Parameter(T.zeros((num_features,)))
        def forward(self, x):
            if self.dim == 2:
                x_p = self.sigmoid(self.bn(x))
                return self.alpha * (1 - x_p) * x + x_p * x
            x = T.transpose(x, 1, 2)
            x_p = self.sigmoid(self.bn(x))
            out = self.alpha.unsqueeze(-1) * (1 - x_p) * x + x_p * x
            return T.transpose(out, 1, 2)
    class LocalActivationUnit(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.dice, self.fc2 = nn.Linear(4 * D, 6), Dice(6, dim=3), nn.Linear(6, 1)
        def forward(self, query, user_behavior):
            L = user_behavior.size(1)
            queries = query.expand(-1, L, -1)
            attention_input = T.cat([queries, user_behavior, queries - user_behavior, queries * user_behavior],
                                    dim=-1)
            return self.fc2(self.dice(self.fc1(attention_input)))
    class CrossNetV2(nn.Module):
        def __init__(self, in_features, layer_num=2):
            super().__init__()
            self.kernels = nn.ParameterList([nn.Parameter(nn.init.xavier_normal_(T.empty(in_features, in_features)))
                                             for _ in range(layer_num)])
            self.bias = nn.ParameterList([nn.Parameter(nn.init.zeros_(T.empty(in_features, 1)))
                                          for _ in range(layer_num)])
        def forward(self, inputs):
            x_0 = inputs.unsqueeze(2)
            x_l = x_0
            for i in range(len(self.kernels)):
                xl_w = T.matmul(self.kernels[i], x_l)
                dot_ = xl_w + self.bias[i]
                x_l = x_0 * dot_ + x_l
            return T.squeeze(x_l, dim=2)
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.item = nn.Embedding(20, D, padding_idx=0)
            self.user = nn.Embedding(7, D)
            self.att = LocalActivationUnit()
            self.cross = CrossNetV2(3 * D)
            self.dnn = nn.Sequential(nn.Linear(3 * D, 8), Dice(8), nn.Linear(8, 4))
            self.out = nn.Linear(3 * D + 4, 1)
        def forward(self, user, target, hist):
            q = self.item(target).unsqueeze(1)
            keys = self.item(hist)
            mask = (hist != 0).unsqueeze(-1)
            score = self.att(q, keys).masked_fill(~mask, 0.0)
            interest = (score * keys).sum(1)
            x = T.cat([self.user(user), q.squeeze(1), interest], -1)
            return self.out(T.cat([self.cross(x), self.dnn(x)], -1)).squeeze(-1)
    model = Net()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    emb = [model.item.weight, model.user.weight]
    rest = [p for p in model.parameters() if all(p is not q for q in emb)]
    opt = T.optim.Adam([{"params": emb, "weight_decay": 1e-4}, {"params": rest}], lr=0.01)
    out = []
    model.train()
    for user, target, hist, y in batches:
        logit = model(T.tensor(user), T.tensor(target), T.tensor(hist))
        loss = F.binary_cross_entropy_with_logits(logit, T.tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        out += [logit, loss, _grads(model)]
    model.eval()
    with T.no_grad():
        user, target, hist, _ = batches[0]
        out.append(model(T.tensor(user), T.tensor(target), T.tensor(hist)))
    return out + [model.state_dict()]


def test_din_dice_and_dcn_v2_cross_network(torch):
    rng = _rng(17)
    sd = din_dcn(torch, None, None)
    batches = []
    for _ in range(3):
        hist = rng.integers(1, 20, (5, 6))
        hist[1, 3:] = 0
        hist[4, 1:] = 0
        batches.append((rng.integers(0, 7, 5), rng.integers(1, 20, 5), hist, rng.integers(0, 2, 5).astype(float)))
    _compare(din_dcn(tg, sd, batches), din_dcn(torch, sd, batches))


def pointer_generator(T, sd, src, lens, ext, tgt_in, tgt_out, dec_mask, n_oov):
    """See et al.'s pointer-generator with coverage (atulkum/pointer_summarizer): a packed bidirectional LSTM
    encoder, ReduceState, Bahdanau attention with the coverage feature and the padding mask renormalised, p_gen,
    the copy distribution scatter_add'ed onto the vocabulary extended by extra zeros for the source's OOV words,
    -log(gold + eps) plus the coverage loss sum(min(attn, coverage)), masked per step and averaged by the target
    lengths; Adagrad(initial_accumulator_value=0.1) with clip_grad_norm_ 2.0."""
    nn, F = T.nn, T.nn.functional
    rnn_utils = import_module(T.__name__ + ".nn.utils.rnn")
    V, E, H = 12, 6, 5
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(V, E)
            self.lstm = nn.LSTM(E, H, num_layers=1, batch_first=True, bidirectional=True)
            self.W_h = nn.Linear(H * 2, H * 2, bias=False)
            self.reduce_h, self.reduce_c = nn.Linear(H * 2, H), nn.Linear(H * 2, H)
            self.decode_proj = nn.Linear(H * 2, H * 2)
            self.v = nn.Linear(H * 2, 1, bias=False)
            self.W_c = nn.Linear(1, H * 2, bias=False)
            self.x_context = nn.Linear(H * 2 + E, E)
            self.dec_lstm = nn.LSTM(E, H, num_layers=1, batch_first=True, bidirectional=False)
            self.p_gen_linear = nn.Linear(H * 4 + E, 1)
            self.out1, self.out2 = nn.Linear(H * 3, H), nn.Linear(H, V)
        def encode(self, input, seq_lens):
            embedded = self.embedding(input)
            packed = rnn_utils.pack_padded_sequence(embedded, seq_lens, batch_first=True)
            output, hidden = self.lstm(packed)
            encoder_outputs, _ = rnn_utils.pad_packed_sequence(output, batch_first=True)
            encoder_outputs = encoder_outputs.contiguous()
            encoder_feature = self.W_h(encoder_outputs.view(-1, 2 * H))
            h, c = hidden
            h_in = h.transpose(0, 1).contiguous().view(-1, H * 2)
            hidden_reduced_h = F.relu(self.reduce_h(h_in))
            c_in = c.transpose(0, 1).contiguous().view(-1, H * 2)
            hidden_reduced_c = F.relu(self.reduce_c(c_in))
            return encoder_outputs, encoder_feature, (hidden_reduced_h.unsqueeze(0), hidden_reduced_c.unsqueeze(0))
        def attention(self, s_t_hat, encoder_outputs, encoder_feature, enc_padding_mask, coverage):
            b, t_k, n = list(encoder_outputs.size())
            dec_fea = self.decode_proj(s_t_hat)
            dec_fea_expanded = dec_fea.unsqueeze(1).expand(b, t_k, n).contiguous().view(-1, n)
            att_features = encoder_feature + dec_fea_expanded
            coverage_input = coverage.view(-1, 1)
            att_features = att_features + self.W_c(coverage_input)
            e = T.tanh(att_features)
            scores = self.v(e).view(-1, t_k)
            attn_dist_ = F.softmax(scores, dim=1) * enc_padding_mask
            normalization_factor = attn_dist_.sum(1, keepdim=True)
            attn_dist = attn_dist_ / normalization_factor
            c_t = T.bmm(attn_dist.unsqueeze(1), encoder_outputs).view(-1, H * 2)
            return c_t, attn_dist, coverage + attn_dist
        def decode(self, y_t_1, s_t_1, encoder_outputs, encoder_feature, enc_padding_mask, c_t_1, extra_zeros,
                   enc_batch_extend_vocab, coverage):
            y_t_1_embd = self.embedding(y_t_1)
            x = self.x_context(T.cat((c_t_1, y_t_1_embd), 1))
            lstm_out, s_t = self.dec_lstm(x.unsqueeze(1), s_t_1)
            h_decoder, c_decoder = s_t
            s_t_hat = T.cat((h_decoder.view(-1, H), c_decoder.view(-1, H)), 1)
            c_t, attn_dist, coverage_next = self.attention(s_t_hat, encoder_outputs, encoder_feature,
                                                           enc_padding_mask, coverage)
            p_gen = T.sigmoid(self.p_gen_linear(T.cat((c_t, s_t_hat, x), 1)))
            output = self.out2(self.out1(T.cat((lstm_out.view(-1, H), c_t), 1)))
            vocab_dist = F.softmax(output, dim=1)
            vocab_dist_ = p_gen * vocab_dist
            attn_dist_ = (1 - p_gen) * attn_dist
            if extra_zeros is not None:
                vocab_dist_ = T.cat([vocab_dist_, extra_zeros], 1)
            final_dist = vocab_dist_.scatter_add(1, enc_batch_extend_vocab, attn_dist_)
            return final_dist, s_t, c_t, attn_dist, p_gen, coverage_next
    model = Model()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    opt = T.optim.Adagrad(model.parameters(), lr=0.15, initial_accumulator_value=0.1)
    out = []
    for it in range(2):
        enc_batch, enc_lens = T.tensor(src), lens
        enc_padding_mask = (enc_batch != 0).double()
        enc_batch_extend_vocab = T.tensor(ext)
        extra_zeros = T.zeros((enc_batch.size(0), n_oov))
        opt.zero_grad()
        encoder_outputs, encoder_feature, s_t_1 = model.encode(enc_batch, enc_lens)
        c_t_1 = T.zeros((enc_batch.size(0), 2 * H))
        coverage = T.zeros(enc_batch.size())
        dec_batch, target_batch, dec_padding_mask = T.tensor(tgt_in), T.tensor(tgt_out), T.tensor(dec_mask)
        step_losses = []
        for di in range(dec_batch.size(1)):
            y_t_1 = dec_batch[:, di]
            final_dist, s_t_1, c_t_1, attn_dist, p_gen, next_coverage = model.decode(
                y_t_1, s_t_1, encoder_outputs, encoder_feature, enc_padding_mask, c_t_1, extra_zeros,
                enc_batch_extend_vocab, coverage)
            target = target_batch[:, di]
            gold_probs = T.gather(final_dist, 1, target.unsqueeze(1)).squeeze()
            step_loss = -T.log(gold_probs + 1e-12)
            step_coverage_loss = T.sum(T.min(attn_dist, coverage), 1)
            step_loss = step_loss + 1.0 * step_coverage_loss
            coverage = next_coverage
            step_loss = step_loss * dec_padding_mask[:, di]
            step_losses.append(step_loss)
            out += [final_dist, p_gen]
        sum_losses = T.sum(T.stack(step_losses, 1), 1)
        batch_avg_loss = sum_losses / dec_padding_mask.sum(1)
        loss = T.mean(batch_avg_loss)
        loss.backward()
        norm = T.nn.utils.clip_grad_norm_(model.parameters(), 2.0)
        opt.step()
        out += [loss, norm, _grads(model)]
    return out + [model.state_dict()]


def test_pointer_generator_with_coverage(torch):
    rng = _rng(18)
    sd = pointer_generator(torch, None, None, None, None, None, None, None, None)
    lens = [7, 5, 3]
    src = np.zeros((3, 7), dtype=np.int64)
    ext = np.zeros((3, 7), dtype=np.int64)
    for b, n in enumerate(lens):
        src[b, :n] = rng.integers(1, 12, n)
        ext[b, :n] = np.where(rng.uniform(size=n) < .3, rng.integers(12, 14, n), src[b, :n])
        src[b, :n][ext[b, :n] >= 12] = 1  # (unk)
    tgt_out = rng.integers(1, 14, (3, 4))
    prev = tgt_out[:, :-1]
    tgt_in = np.concatenate([np.full((3, 1), 2), np.where(prev >= 12, 1, prev)], 1)  # (OOV fed back as unk)
    dec_mask = np.ones((3, 4))
    dec_mask[2, 2:] = 0
    args = (src, lens, ext, tgt_in, tgt_out, dec_mask, 2)
    _compare(pointer_generator(tg, sd, *args), pointer_generator(torch, sd, *args))


def distill_adapters(T, sd, xs, mask, ys):
    """TinyBERT-style distillation into a student with Houlsby adapters attached by forward hooks: a frozen
    teacher (requires_grad_(False), eval) and a student of nn.TransformerEncoderLayer-like blocks built on
    nn.MultiheadAttention (need_weights=True, average_attn_weights=False for per-head maps), adapters added to a
    block's output by register_forward_hook (the hook returns the new output), a kwargs pre-hook
    (register_forward_pre_hook(with_kwargs=True)) that fills in the padding mask; losses: per-head attention-map
    MSE where not padded, hidden-state MSE through a fitting Linear, KL divergence of the soft logits
    (log_target=True, T^2 scaled) and the hard cross entropy; AdamW on the student's trainable parameters."""
    nn, F = T.nn, T.nn.functional
    class Block(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.attn = nn.MultiheadAttention(d, 2, batch_first=True)
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.ff = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))
        def forward(self, x, key_padding_mask=None):
            a, w = self.attn(x, x, x, key_padding_mask=key_padding_mask, need_weights=True,
                             average_attn_weights=False)
            x = self.ln1(x + a)
            return self.ln2(x + self.ff(x)), w
    class Encoder(nn.Module):
        def __init__(self, d, n, classes=3):
            super().__init__()
            self.proj = nn.Linear(4, d)
            self.blocks = nn.ModuleList([Block(d) for _ in range(n)])
            self.cls = nn.Linear(d, classes)
        def forward(self, x, mask):
            h, hs, ws = self.proj(x), [], []
            for blk in self.blocks:
                h, w = blk(h)
                hs.append(h)
                ws.append(w)
            pooled = (h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
            return self.cls(pooled), hs, ws
    class Adapter(nn.Module):
        def __init__(self, d, r=2):
            super().__init__()
            self.down, self.up = nn.Linear(d, r), nn.Linear(r, d)
        def forward(self, x):
            return x + self.up(F.relu(self.down(x)))
    teacher, student = Encoder(8, 2), Encoder(6, 2)
    student.adapters = nn.ModuleList([Adapter(6) for _ in student.blocks])
    student.fit = nn.Linear(6, 8)
    if sd is None:
        return {**{"t." + k: v for k, v in _state(teacher).items()},
                **{"s." + k: v for k, v in _state(student).items()}}
    _load(T, teacher, {k[2:]: v for k, v in sd.items() if k.startswith("t.")})
    _load(T, student, {k[2:]: v for k, v in sd.items() if k.startswith("s.")})
    teacher.requires_grad_(False)
    teacher.eval()
    current = {}
    handles = []
    for blk, adapter in zip(student.blocks, student.adapters):
        def hook(module, args, output, adapter=adapter):
            h, w = output
            return adapter(h), w
        handles.append(blk.register_forward_hook(hook))
        def pre(module, args, kwargs):
            kwargs = dict(kwargs)
            kwargs.setdefault("key_padding_mask", current["pad"])
            return args, kwargs
        handles.append(blk.register_forward_pre_hook(pre, with_kwargs=True))
    for blk in student.blocks:
        for p in blk.ff.parameters():
            p.requires_grad_(False)
    opt = T.optim.AdamW([p for p in student.parameters() if p.requires_grad], lr=5e-3)
    out, temp = [], 2.0
    for x, y in zip(xs, ys):
        x, m, y = T.tensor(x), T.tensor(mask), T.tensor(y)
        current["pad"] = m == 0
        with T.no_grad():
            t_logits, t_hs, t_ws = teacher(x, m)
        s_logits, s_hs, s_ws = student(x, m)
        keep = (m[:, None, :, None] * m[:, None, None, :]).expand_as(s_ws[0])
        att_loss = sum(F.mse_loss(sw[keep.bool()], tw[keep.bool()]) for sw, tw in zip(s_ws, t_ws))
        hid_loss = sum(F.mse_loss(student.fit(sh), th) for sh, th in zip(s_hs, t_hs))
        kd = F.kl_div(F.log_softmax(s_logits / temp, -1), F.log_softmax(t_logits / temp, -1), reduction="batchmean",
                      log_target=True) * temp ** 2
        loss = att_loss + hid_loss + kd + F.cross_entropy(s_logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        out += [s_logits, s_ws, att_loss, hid_loss, kd, loss, _grads(student)]
    for h in handles:
        h.remove()
    out.append(student.state_dict())
    return out


def test_tinybert_distillation_with_hooked_adapters(torch):
    rng = _rng(19)
    sd = distill_adapters(torch, None, None, None, None)
    xs, ys = rng.standard_normal((3, 3, 5, 4)), rng.integers(0, 3, (3, 3))
    mask = np.ones((3, 5))
    mask[1, 3:] = 0
    _compare(distill_adapters(tg, sd, xs, mask, ys), distill_adapters(torch, sd, xs, mask, ys))


def old_sparse_optimizers(T, sd, batches):
    """torch 0.4's SparseAdam and Adagrad sparse branch, as custom Optimizer subclasses copied into repositories:
    grad.coalesce(), _indices() / _values(), make_sparse through grad.new(indices, values, size),
    state.sparse_mask(grad), in-place arithmetic on the values (sub_, mul_, sqrt_, add_, div_), dense.add_(sparse)
    and the deprecated p.data.add_(-clr, sparse) overload; training a sparse embedding model."""
    nn, F = T.nn, T.nn.functional
    class OldSparseAdam(T.optim.Optimizer):
        def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
            defaults = dict(lr=lr, betas=betas, eps=eps)
            super(OldSparseAdam, self).__init__(params, defaults)
        def step(self, closure=None):
            loss = None
            if closure is not None:
                loss = closure()
            for group in self.param_groups:
                for p in group['params']:
                    if p.grad is None:
                        continue
                    grad = p.grad.data
                    if not grad.is_sparse:
                        raise RuntimeError('SparseAdam does not support dense gradients, please consider Adam instead')
                    state = self.state[p]
                    if len(state) == 0:
                        state['step'] = 0
                        state['exp_avg'] = T.zeros_like(p.data)
                        state['exp_avg_sq'] = T.zeros_like(p.data)
                    state['step'] += 1
                    grad = grad.coalesce()
                    grad_indices = grad._indices()
                    grad_values = grad._values()
                    size = grad.size()
                    def make_sparse(values):
                        constructor = grad.new
                        if grad_indices.dim() == 0 or values.dim() == 0:
                            return constructor().resize_as_(grad)
                        return constructor(grad_indices, values, size)
                    exp_avg, exp_avg_sq = state['exp_avg'], state['exp_avg_sq']
                    beta1, beta2 = group['betas']
                    old_exp_avg_values = exp_avg.sparse_mask(grad)._values()
                    exp_avg_update_values = grad_values.sub(old_exp_avg_values).mul_(1 - beta1)
                    exp_avg.add_(make_sparse(exp_avg_update_values))
                    old_exp_avg_sq_values = exp_avg_sq.sparse_mask(grad)._values()
                    exp_avg_sq_update_values = grad_values.pow(2).sub_(old_exp_avg_sq_values).mul_(1 - beta2)
                    exp_avg_sq.add_(make_sparse(exp_avg_sq_update_values))
                    numer = exp_avg_update_values.add_(old_exp_avg_values)
                    exp_avg_sq_update_values.add_(old_exp_avg_sq_values)
                    denom = exp_avg_sq_update_values.sqrt_().add_(group['eps'])
                    del exp_avg_update_values, exp_avg_sq_update_values
                    bias_correction1 = 1 - beta1 ** state['step']
                    bias_correction2 = 1 - beta2 ** state['step']
                    step_size = group['lr'] * math.sqrt(bias_correction2) / bias_correction1
                    p.data.add_(make_sparse(-step_size * numer.div_(denom)))
            return loss
    class OldAdagrad(T.optim.Optimizer):
        def __init__(self, params, lr=1e-2, lr_decay=0, initial_accumulator_value=0):
            defaults = dict(lr=lr, lr_decay=lr_decay, initial_accumulator_value=initial_accumulator_value)
            super(OldAdagrad, self).__init__(params, defaults)
            for group in self.param_groups:
                for p in group['params']:
                    state = self.state[p]
                    state['step'] = 0
                    state['sum'] = T.full_like(p.data, initial_accumulator_value)
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group['params']:
                    if p.grad is None:
                        continue
                    grad = p.grad.data
                    state = self.state[p]
                    state['step'] += 1
                    clr = group['lr'] / (1 + (state['step'] - 1) * group['lr_decay'])
                    if grad.is_sparse:
                        grad = grad.coalesce()
                        grad_indices = grad._indices()
                        grad_values = grad._values()
                        size = grad.size()
                        def make_sparse(values):
                            constructor = grad.new
                            if grad_indices.dim() == 0 or values.dim() == 0:
                                return constructor().resize_as_(grad)
                            return constructor(grad_indices, values, size)
                        state['sum'].add_(make_sparse(grad_values.pow(2)))
                        std = state['sum'].sparse_mask(grad)
                        std_values = std._values().sqrt_().add_(1e-10)
                        p.data.add_(-clr, make_sparse(grad_values / std_values))
                    else:
                        state['sum'].addcmul_(grad, grad, value=1)
                        std = state['sum'].sqrt().add_(1e-10)
                        p.data.addcdiv_(grad, std, value=-clr)
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Embedding(11, 4, sparse=True)
            self.b = nn.EmbeddingBag(9, 4, mode="sum", sparse=True)
            self.fc = nn.Linear(4, 2)
        def forward(self, x, bag, off):
            return self.fc(self.a(x).mean(1) * self.b(bag, off))
    model = Net()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    opt_a = OldSparseAdam([model.a.weight, model.b.weight], lr=0.05)
    opt_b = OldAdagrad(list(model.fc.parameters()) + [model.b.weight], lr=0.1, lr_decay=0.01,
                       initial_accumulator_value=0.1)
    out = []
    for x, bag, off, y in batches:
        loss = F.cross_entropy(model(T.tensor(x), T.tensor(bag), T.tensor(off)), T.tensor(y))
        opt_a.zero_grad()
        opt_b.zero_grad()
        loss.backward()
        out += [loss, _grads(model)]
        opt_a.step()
        opt_b.step()
    return out + [model.state_dict(), [opt_a.state[p]["exp_avg_sq"] for p in (model.a.weight, model.b.weight)]]


@pytest.mark.filterwarnings("ignore:This overload of add_ is deprecated:UserWarning")  # (the old code's)
def test_torch_0_4_sparse_adam_and_adagrad_sparse_branch(torch):
    rng = _rng(20)
    sd = old_sparse_optimizers(torch, None, None)
    batches = [(rng.integers(0, 11, (4, 3)), rng.integers(0, 9, 8), np.array([0, 2, 5, 5]), rng.integers(0, 2, 4))
               for _ in range(3)]
    _compare(old_sparse_optimizers(tg, sd, batches), old_sparse_optimizers(torch, sd, batches))
