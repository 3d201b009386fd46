"""NLP pretraining, tabular and knowledge-graph programs, ported: each written once, as its authors write it, against
a module ``T`` (torch or tinygrad_rnn), run by both from the same initial weights (torch's, loaded into ours) and
data for a few steps in float64; losses, outputs, gradients and final weights agree to ~1e-10. Random draws (masking
uniforms, gumbel noise, negative samples) are made in numpy and passed in, so both see the same. Skipped without
torch.

Programs: BERT pretraining (HF's DataCollatorForLanguageModeling 80/10/10 masking with bernoulli of given
probabilities, the extended attention mask, BertPredictionHeadTransform with a tied decoder and its own bias, the NSP
head, _init_weights by apply, gradient accumulation, AdamW without decay on biases / LayerNorm, linear warmup by
LambdaLR); ALBERT (factorized embeddings, one layer shared across depth, sentence-order prediction, cybertronai's
LAMB as a custom Optimizer); ELECTRA (a small generator and a discriminator sharing embeddings, gumbel-max sampling
of replacements with given noise, detach between them, the weighted replaced-token loss); a LLaMA block (RMSNorm,
SwiGLU with multiple_of, grouped-query attention by repeat_kv, rotary by view_as_complex, a KV cache filled by slice
assignment under inference_mode, greedy generation matching the uncached forward); TabNet (dreamquark's sparsemax
as an autograd.Function, ghost batch norm by chunk, GLU feature transformers shared and step-specific, the
attentive transformer's prior, the sparsity regulariser); rtdl's FT-Transformer (numerical and categorical feature
tokenizers with category offsets, a CLS token, ReGLU, pre-norm blocks, Linformer key / value compression, AdamW
with zero decay on tokenizers and norms); knowledge-graph embeddings (TransE-PyTorch's margin ranking with entities
renormalised through .data, hits@k and MRR; KnowledgeGraphEmbedding's TransE / DistMult / ComplEx / RotatE with
self-adversarial negative sampling and filtered ranking; kbc's ComplEx with sparse embeddings scored against their
own weight, the N3 regulariser and Adagrad); Longformer's sliding-window attention (HF's _chunk by as_strided,
_pad_and_diagonalize, _mask_invalid_locations), checked against dense banded attention (Transformer-XL is in
test_ports_recurrent.py); DeBERTa-v2 (disentangled content / position attention with log-bucket relative positions);
Reformer's LSH attention (hashing by rotations, sorted buckets, chunked attention, the undo sort); SAINT's
contrastive and denoising pretraining (CutMix, mixup in embedding space, intersample attention).
"""
import math

import numpy as np
import pytest

import tinygrad_rnn as tg
from ports import compare as _compare, load as _load, rng as _rng, state as _state


def _grads(m):
    return {k: p.grad.clone() for k, p in m.named_parameters() if p.grad is not None}


# ------------------------------------------------------------------------------------------------ BERT pretraining
def bert_pretraining(T, sd, batches):
    """HF's BertForPreTraining, tiny: embeddings (word + position + token type, LayerNorm eps 1e-12), post-LN
    layers with the extended attention mask ((1 - mask) * finfo.min), the MLM head (dense, GELU, LayerNorm, a decoder
    tied to the word embeddings with its own bias), the NSP head on the pooler; DataCollatorForLanguageModeling's
    masking (bernoulli of probability matrices, special tokens excluded, 80% [MASK], 10% random, 10% kept), made
    from given uniforms; _init_weights by apply; two micro-batches accumulated per step; AdamW groups and
    get_linear_schedule_with_warmup."""
    nn, F = T.nn, T.nn.functional
    V, D, H, L, I = 23, 8, 2, 2, 16
    PAD, CLS, SEP, MASK = 0, 1, 2, 3
    class Config:
        vocab_size, hidden_size, num_attention_heads, num_hidden_layers = V, D, H, L
        intermediate_size, max_position_embeddings, type_vocab_size = I, 16, 2
        layer_norm_eps, initializer_range, hidden_dropout_prob = 1e-12, 0.02, 0.0
    config = Config()
    class BertEmbeddings(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=PAD)
            self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
            self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
            self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
            self.dropout = nn.Dropout(config.hidden_dropout_prob)
            self.register_buffer("position_ids", T.arange(config.max_position_embeddings).expand((1, -1)),
                                 persistent=False)
        def forward(self, input_ids, token_type_ids):
            seq_length = input_ids.size(1)
            position_ids = self.position_ids[:, :seq_length]
            embeddings = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
            embeddings += self.position_embeddings(position_ids)
            return self.dropout(self.LayerNorm(embeddings))
    class BertSelfAttention(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.num_attention_heads = config.num_attention_heads
            self.attention_head_size = config.hidden_size // config.num_attention_heads
            self.all_head_size = self.num_attention_heads * self.attention_head_size
            self.query = nn.Linear(config.hidden_size, self.all_head_size)
            self.key = nn.Linear(config.hidden_size, self.all_head_size)
            self.value = nn.Linear(config.hidden_size, self.all_head_size)
        def transpose_for_scores(self, x):
            new_x_shape = x.size()[:-1] + (self.num_attention_heads, self.attention_head_size)
            x = x.view(new_x_shape)
            return x.permute(0, 2, 1, 3)
        def forward(self, hidden_states, attention_mask):
            query_layer = self.transpose_for_scores(self.query(hidden_states))
            key_layer = self.transpose_for_scores(self.key(hidden_states))
            value_layer = self.transpose_for_scores(self.value(hidden_states))
            attention_scores = T.matmul(query_layer, key_layer.transpose(-1, -2))
            attention_scores = attention_scores / math.sqrt(self.attention_head_size)
            attention_scores = attention_scores + attention_mask
            attention_probs = nn.functional.softmax(attention_scores, dim=-1)
            context_layer = T.matmul(attention_probs, value_layer)
            context_layer = context_layer.permute(0, 2, 1, 3).contiguous()
            new_context_layer_shape = context_layer.size()[:-2] + (self.all_head_size,)
            return context_layer.view(new_context_layer_shape)
    class BertLayer(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.self = BertSelfAttention(config)
            self.attn_out = nn.Linear(config.hidden_size, config.hidden_size)
            self.attn_ln = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
            self.intermediate = nn.Linear(config.hidden_size, config.intermediate_size)
            self.output = nn.Linear(config.intermediate_size, config.hidden_size)
            self.out_ln = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        def forward(self, hidden_states, attention_mask):
            attention_output = self.attn_ln(self.attn_out(self.self(hidden_states, attention_mask)) + hidden_states)
            intermediate_output = F.gelu(self.intermediate(attention_output))
            return self.out_ln(self.output(intermediate_output) + attention_output)
    class BertPredictionHeadTransform(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.dense = nn.Linear(config.hidden_size, config.hidden_size)
            self.transform_act_fn = nn.GELU()
            self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        def forward(self, hidden_states):
            return self.LayerNorm(self.transform_act_fn(self.dense(hidden_states)))
    class BertLMPredictionHead(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.transform = BertPredictionHeadTransform(config)
            self.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
            self.bias = nn.Parameter(T.zeros(config.vocab_size))
            self.decoder.bias = self.bias
        def forward(self, hidden_states):
            return self.decoder(self.transform(hidden_states))
    class BertForPreTraining(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.config = config
            self.embeddings = BertEmbeddings(config)
            self.layer = nn.ModuleList([BertLayer(config) for _ in range(config.num_hidden_layers)])
            self.pooler = nn.Sequential(nn.Linear(config.hidden_size, config.hidden_size), nn.Tanh())
            self.predictions = BertLMPredictionHead(config)
            self.seq_relationship = nn.Linear(config.hidden_size, 2)
            self.apply(self._init_weights)
            self.predictions.decoder.weight = self.embeddings.word_embeddings.weight
        def _init_weights(self, module):
            if isinstance(module, nn.Linear):
                module.weight.data.normal_(mean=0.0, std=self.config.initializer_range)
                if module.bias is not None:
                    module.bias.data.zero_()
            elif isinstance(module, nn.Embedding):
                module.weight.data.normal_(mean=0.0, std=self.config.initializer_range)
                if module.padding_idx is not None:
                    module.weight.data[module.padding_idx].zero_()
            elif isinstance(module, nn.LayerNorm):
                module.bias.data.zero_()
                module.weight.data.fill_(1.0)
        def get_extended_attention_mask(self, attention_mask, dtype):
            extended_attention_mask = attention_mask[:, None, None, :]
            extended_attention_mask = extended_attention_mask.to(dtype=dtype)
            return (1.0 - extended_attention_mask) * T.finfo(dtype).min
        def forward(self, input_ids, attention_mask, token_type_ids, labels=None, next_sentence_label=None):
            hidden = self.embeddings(input_ids, token_type_ids)
            ext = self.get_extended_attention_mask(attention_mask, hidden.dtype)
            for layer in self.layer:
                hidden = layer(hidden, ext)
            pooled_output = self.pooler(hidden[:, 0])
            prediction_scores = self.predictions(hidden)
            seq_relationship_score = self.seq_relationship(pooled_output)
            total_loss = None
            if labels is not None and next_sentence_label is not None:
                loss_fct = nn.CrossEntropyLoss()
                masked_lm_loss = loss_fct(prediction_scores.view(-1, self.config.vocab_size), labels.view(-1))
                next_sentence_loss = loss_fct(seq_relationship_score.view(-1, 2), next_sentence_label.view(-1))
                total_loss = masked_lm_loss + next_sentence_loss
            return total_loss, prediction_scores, seq_relationship_score
    def torch_mask_tokens(inputs, special_tokens_mask, u):
        """DataCollatorForLanguageModeling.torch_mask_tokens; u: three given uniform draws standing in for its
        bernoulli / bernoulli / randint calls (bernoulli of the 0/1 outcomes keeps the call)."""
        mlm_probability = 0.15
        labels = inputs.clone()
        probability_matrix = T.full(labels.shape, mlm_probability)
        probability_matrix.masked_fill_(special_tokens_mask, value=0.0)
        masked_indices = T.bernoulli((T.from_numpy(u[0]) < probability_matrix).double()).bool()
        labels[~masked_indices] = -100
        indices_replaced = T.bernoulli((T.from_numpy(u[1]) < T.full(labels.shape, 0.8)).double()).bool()
        indices_replaced = indices_replaced & masked_indices
        inputs[indices_replaced] = MASK
        indices_random = (T.from_numpy(u[1]) >= 0.9) & masked_indices & ~indices_replaced
        random_words = T.from_numpy(np.floor(u[2] * V).astype(np.int64))
        inputs[indices_random] = random_words[indices_random]
        return inputs, labels
    model = BertForPreTraining(config)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    assert model.predictions.decoder.weight is model.embeddings.word_embeddings.weight
    no_decay = ["bias", "LayerNorm.weight", "_ln.weight"]
    optimizer_grouped_parameters = [
        {"params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)],
         "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)],
         "weight_decay": 0.0}]
    optimizer = T.optim.AdamW(optimizer_grouped_parameters, lr=1e-2, eps=1e-6)
    num_training_steps, num_warmup_steps = len(batches), 1
    def lr_lambda(current_step):
        if current_step < num_warmup_steps:
            return float(current_step + 1) / float(max(1, num_warmup_steps + 1))
        return max(0.0, float(num_training_steps - current_step) /
                   float(max(1, num_training_steps - num_warmup_steps)))
    scheduler = T.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
    gradient_accumulation_steps = 2
    out = []
    model.train()
    for step, micro in enumerate(batches):
        for ids, segs, nsp, u in micro:
            input_ids = T.tensor(ids)
            special_tokens_mask = (input_ids == PAD) | (input_ids == CLS) | (input_ids == SEP)
            attention_mask = (input_ids != PAD).long()
            input_ids, labels = torch_mask_tokens(input_ids, special_tokens_mask, u)
            loss, scores, nsp_scores = model(input_ids, attention_mask, T.tensor(segs), labels=labels,
                                             next_sentence_label=T.tensor(nsp))
            loss = loss / gradient_accumulation_steps
            loss.backward()
            out += [input_ids, labels, loss, scores, nsp_scores]
        out += [_grads(model), T.nn.utils.clip_grad_norm_(model.parameters(), 1.0), scheduler.get_last_lr()]
        optimizer.step()
        scheduler.step()
        model.zero_grad()
    out.append(model.state_dict())
    return out


def test_bert_pretraining_mlm_nsp(torch):
    rng = _rng(1)
    sd = bert_pretraining(torch, None, None)
    batches = []
    for _ in range(3):
        micro = []
        for _ in range(2):
            ids = np.zeros((3, 9), dtype=np.int64)
            segs = np.zeros((3, 9), dtype=np.int64)
            for b in range(3):
                la, lb = rng.integers(1, 4), rng.integers(1, 3)
                a, c = rng.integers(4, 23, la), rng.integers(4, 23, lb)
                row = np.concatenate([[1], a, [2], c, [2]])
                ids[b, :len(row)] = row
                segs[b, la + 2:len(row)] = 1
            u = rng.random((3, 3, 9))
            u[0, :, 1], u[1, :, 1] = 0.01, [0.85, 0.95, 0.5]  # (the first tokens masked: kept, random, [MASK])
            micro.append((ids, segs, rng.integers(0, 2, 3), u))
        batches.append(micro)
    _compare(bert_pretraining(tg, sd, batches), bert_pretraining(torch, sd, batches))


# ------------------------------------------------------------------------------------------------ ALBERT with LAMB
def albert_sop_lamb(T, sd, batches):
    """ALBERT (HF's modelling code, tiny): factorized embeddings (E < H, embedding_hidden_mapping_in), one
    AlbertLayer shared by all layers (called num_hidden_layers times), gelu_new, the MLM head projecting back to E
    with a decoder tied to the word embeddings, sentence-order prediction on the pooler; trained by cybertronai's
    pytorch-lamb Lamb (a custom Optimizer: trust ratio weight_norm / adam_norm clamped to 10, state per parameter)."""
    nn, F = T.nn, T.nn.functional
    V, E, D, H, L, I = 19, 4, 8, 2, 3, 12
    def gelu_new(x):
        return 0.5 * x * (1.0 + T.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * T.pow(x, 3.0))))
    class Lamb(T.optim.Optimizer):
        def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0, adam=False):
            if not 0.0 <= lr:
                raise ValueError("Invalid learning rate: {}".format(lr))
            defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
            self.adam = adam
            super(Lamb, self).__init__(params, defaults)
        def step(self, closure=None):
            loss = None
            if closure is not None:
                loss = closure()
            for group in self.param_groups:
                for p in group['params']:
                    if p.grad is None:
                        continue
                    grad = p.grad.data
                    if grad.is_sparse:
                        raise RuntimeError('Lamb does not support sparse gradients, consider SparseAdam instad.')
                    state = self.state[p]
                    if len(state) == 0:
                        state['step'] = 0
                        state['exp_avg'] = T.zeros_like(p.data)
                        state['exp_avg_sq'] = T.zeros_like(p.data)
                    exp_avg, exp_avg_sq = state['exp_avg'], state['exp_avg_sq']
                    beta1, beta2 = group['betas']
                    state['step'] += 1
                    exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
                    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                    step_size = group['lr']
                    weight_norm = p.data.pow(2).sum().sqrt().clamp(0, 10)
                    adam_step = exp_avg / exp_avg_sq.sqrt().add(group['eps'])
                    if group['weight_decay'] != 0:
                        adam_step.add_(p.data, alpha=group['weight_decay'])
                    adam_norm = adam_step.pow(2).sum().sqrt()
                    if weight_norm == 0 or adam_norm == 0:
                        trust_ratio = 1
                    else:
                        trust_ratio = weight_norm / adam_norm
                    state['weight_norm'] = weight_norm
                    state['adam_norm'] = adam_norm
                    state['trust_ratio'] = trust_ratio
                    if self.adam:
                        trust_ratio = 1
                    p.data.add_(adam_step, alpha=-step_size * trust_ratio)
            return loss
    class AlbertLayer(nn.Module):
        def __init__(self):
            super().__init__()
            self.full_layer_layer_norm = nn.LayerNorm(D, eps=1e-12)
            self.query, self.key, self.value = nn.Linear(D, D), nn.Linear(D, D), nn.Linear(D, D)
            self.dense = nn.Linear(D, D)
            self.attn_norm = nn.LayerNorm(D, eps=1e-12)
            self.ffn = nn.Linear(D, I)
            self.ffn_output = nn.Linear(I, D)
        def forward(self, hidden_states, attention_mask):
            B, S, _ = hidden_states.shape
            q, k, v = (m(hidden_states).view(B, S, H, D // H).transpose(1, 2) for m in (self.query, self.key,
                                                                                        self.value))
            scores = T.matmul(q, k.transpose(-1, -2)) / math.sqrt(D // H) + attention_mask
            ctx = T.matmul(scores.softmax(dim=-1), v).transpose(2, 1).flatten(2)
            attention_output = self.attn_norm(hidden_states + self.dense(ctx))
            ffn_output = self.ffn_output(gelu_new(self.ffn(attention_output)))
            return self.full_layer_layer_norm(ffn_output + attention_output)
    class AlbertForPreTraining(nn.Module):
        def __init__(self):
            super().__init__()
            self.word_embeddings = nn.Embedding(V, E, padding_idx=0)
            self.position_embeddings = nn.Embedding(12, E)
            self.token_type_embeddings = nn.Embedding(2, E)
            self.LayerNorm = nn.LayerNorm(E, eps=1e-12)
            self.embedding_hidden_mapping_in = nn.Linear(E, D)
            self.albert_layer = AlbertLayer()
            self.pooler = nn.Linear(D, D)
            self.pooler_activation = nn.Tanh()
            self.mlm_dense = nn.Linear(D, E)
            self.mlm_LayerNorm = nn.LayerNorm(E, eps=1e-12)
            self.mlm_bias = nn.Parameter(T.zeros(V))
            self.decoder = nn.Linear(E, V)
            self.decoder.weight = self.word_embeddings.weight
            self.decoder.bias = self.mlm_bias
            self.sop_classifier = nn.Linear(D, 2)
        def forward(self, input_ids, token_type_ids, attention_mask):
            S = input_ids.shape[1]
            emb = self.word_embeddings(input_ids) + self.position_embeddings(T.arange(S)[None]) \
                + self.token_type_embeddings(token_type_ids)
            hidden = self.embedding_hidden_mapping_in(self.LayerNorm(emb))
            ext = (1.0 - attention_mask[:, None, None, :].to(hidden.dtype)) * -10000.0
            all_hidden = []
            for _ in range(L):
                hidden = self.albert_layer(hidden, ext)
                all_hidden.append(hidden)
            pooled = self.pooler_activation(self.pooler(hidden[:, 0]))
            mlm = self.decoder(self.mlm_LayerNorm(gelu_new(self.mlm_dense(hidden))))
            return mlm, self.sop_classifier(pooled), T.stack(all_hidden)
    model = AlbertForPreTraining()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = Lamb(model.parameters(), lr=0.02, weight_decay=0.01, betas=(.9, .999))
    out = []
    for ids, segs, mask, labels, sop in batches:
        mlm, sop_logits, hs = model(T.tensor(ids), T.tensor(segs), T.tensor(mask))
        loss = F.cross_entropy(mlm.reshape(-1, V), T.tensor(labels).view(-1), ignore_index=-100) \
            + F.cross_entropy(sop_logits, T.tensor(sop))
        optimizer.zero_grad()
        loss.backward()
        out += [loss, mlm, sop_logits, hs, _grads(model)]
        optimizer.step()
        out.append([[s["weight_norm"], s["adam_norm"], s["trust_ratio"]] for s in optimizer.state.values()])
    out.append(model.state_dict())
    return out


def test_albert_shared_layers_sop_lamb(torch):
    rng = _rng(2)
    sd = albert_sop_lamb(torch, None, None)
    batches = []
    for _ in range(3):
        ids = rng.integers(1, 19, (4, 7))
        mask = np.ones((4, 7), dtype=np.int64)
        mask[1, 5:] = 0
        ids[mask == 0] = 0
        segs = (np.arange(7) >= 3).astype(np.int64)[None].repeat(4, 0)
        labels = np.where(rng.random((4, 7)) < 0.3, ids, -100)
        labels[0, 1] = ids[0, 1]
        batches.append((ids, segs, mask, labels, rng.integers(0, 2, 4)))
    _compare(albert_sop_lamb(tg, sd, batches), albert_sop_lamb(torch, sd, batches))


# -------------------------------------------------------------------------------------------------------- ELECTRA
def electra(T, sd, batches):
    """ELECTRA's replaced-token detection (google-research/electra as lucidrains' electra-pytorch writes it): a small
    generator MLM and a discriminator sharing the token embeddings; masking by given uniforms with prob_mask_like /
    mask_with_tokens / get_mask_subset_with_prob (topk of rand over the candidates), gumbel-max sampling of the
    replacements with given noise (gumbel_sample), the sampled tokens detached, the discriminator's
    BCE-with-logits over non-padding tokens weighted by 50, Adam."""
    nn, F = T.nn, T.nn.functional
    V, D, S, MASK, PAD = 17, 8, 8, 1, 0
    def log(t, eps=1e-9):
        return T.log(t + eps)
    def gumbel_noise_from(u):
        return -log(-log(u))
    def gumbel_sample(t, noise, temperature=1.):
        return ((t / temperature) + noise).argmax(dim=-1)
    def mask_with_tokens(t, token_ids):
        init_no_mask = T.full_like(t, False, dtype=T.bool)
        mask = __import__("functools").reduce(lambda acc, el: acc | (t == el), token_ids, init_no_mask)
        return mask
    def get_mask_subset_with_prob(mask, prob, rand):
        batch, seq_len, device = *mask.shape, mask.device
        max_masked = math.ceil(prob * seq_len)
        num_tokens = mask.sum(dim=-1, keepdim=True)
        mask_excess = (mask.cumsum(dim=-1) > (num_tokens * prob).ceil())
        mask_excess = mask_excess[:, :max_masked]
        rand = rand.masked_fill(~mask, -1e9)
        _, sampled_indices = rand.topk(max_masked, dim=-1)
        sampled_indices = (sampled_indices + 1).masked_fill_(mask_excess, 0)
        new_mask = T.zeros((batch, seq_len + 1), device=device)
        new_mask.scatter_(-1, sampled_indices, 1)
        return new_mask[:, 1:].bool()
    class Encoder(nn.Module):
        def __init__(self, dim, emb):
            super().__init__()
            self.token_emb = emb
            self.pos_emb = nn.Embedding(S, dim)
            self.layer = nn.TransformerEncoderLayer(dim, 2, 2 * dim, dropout=0.0, batch_first=True,
                                                    activation="gelu", norm_first=True)
            self.norm = nn.LayerNorm(dim)
        def forward(self, x, pad_mask):
            h = self.token_emb(x) + self.pos_emb(T.arange(x.shape[1], device=x.device))
            return self.norm(self.layer(h, src_key_padding_mask=pad_mask))
    class Electra(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(V, D)
            self.generator = Encoder(D, self.emb)
            self.to_logits = nn.Linear(D, V)
            self.discriminator = Encoder(D, self.emb)
            self.to_discriminator_logits = nn.Linear(D, 1)
            self.mask_prob, self.replace_prob, self.disc_weight, self.gen_weight = 0.25, 0.85, 50., 1.
        def forward(self, input, rands, noise):
            pad_mask = input == PAD
            no_mask = mask_with_tokens(input, [PAD])
            mask = get_mask_subset_with_prob(~no_mask, self.mask_prob, rands[0])
            mask_indices = T.nonzero(mask, as_tuple=True)
            masked_input = input.clone().detach()
            replace_prob = rands[1] < self.replace_prob
            masked_input = masked_input.masked_fill(mask * replace_prob, MASK)
            gen_labels = input.masked_fill(~mask, PAD)
            logits = self.to_logits(self.generator(masked_input, pad_mask))
            mlm_loss = F.cross_entropy(logits.transpose(1, 2), gen_labels, ignore_index=PAD)
            sample_logits = logits[mask_indices]
            sampled = gumbel_sample(sample_logits, noise[mask_indices], temperature=1.)
            disc_input = input.clone()
            disc_input[mask_indices] = sampled.detach()
            disc_labels = (input != disc_input).float().detach()
            non_padded_indices = T.nonzero(input != PAD, as_tuple=True)
            disc_logits = self.to_discriminator_logits(self.discriminator(disc_input, pad_mask)).reshape_as(
                disc_labels)
            disc_loss = F.binary_cross_entropy_with_logits(disc_logits[non_padded_indices],
                                                           disc_labels[non_padded_indices])
            with T.no_grad():
                gen_predictions = T.argmax(logits, dim=-1)
                disc_predictions = T.round((T.sign(disc_logits) + 1.0) * 0.5)
                gen_acc = (gen_labels[mask] == gen_predictions[mask]).float().mean()
                disc_acc = 0.5 * (disc_labels[mask] == disc_predictions[mask]).float().mean() \
                    + 0.5 * (disc_labels[~mask] == disc_predictions[~mask]).float().mean()
            loss = self.gen_weight * mlm_loss + self.disc_weight * disc_loss
            return loss, mlm_loss, disc_loss, gen_acc, disc_acc, disc_input, mask
    model = Electra()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.Adam(model.parameters(), lr=3e-3)
    out = []
    for ids, u, gu in batches:
        outs = model(T.tensor(ids), T.tensor(u), gumbel_noise_from(T.tensor(gu)))
        optimizer.zero_grad()
        outs[0].backward()
        out += [list(outs), _grads(model)]
        optimizer.step()
    out.append(model.state_dict())
    return out


def test_electra_generator_discriminator(torch):
    rng = _rng(3)
    sd = electra(torch, None, None)
    batches = []
    for _ in range(3):
        ids = rng.integers(2, 17, (3, 8))
        ids[1, 6:] = 0
        batches.append((ids, rng.random((2, 3, 8)), rng.random((3, 8, 17))))
    _compare(electra(tg, sd, batches), electra(torch, sd, batches))


# ---------------------------------------------------------------------------------------------------------- LLaMA
def llama(T, sd, batches, prompt):
    """meta-llama/llama's model.py, tiny: RMSNorm (x * rsqrt(mean(x^2) + eps) * weight, in float then type_as),
    precompute_freqs_cis by torch.polar, apply_rotary_emb by view_as_complex / view_as_real, grouped-query attention
    (n_kv_heads < n_heads, repeat_kv by expand + reshape), a KV cache (cache_k / cache_v tensors written by slice
    assignment, read back for the keys so far), the causal mask by torch.full + triu and hstack with zeros for the
    cached positions, FeedForward's SwiGLU with hidden_dim rounded to multiple_of; trained a few AdamW steps with
    cosine lr (CosineAnnealingLR) and weight tying off, then greedy generation under inference_mode with the cache,
    each step's logits checked against the full uncached forward."""
    nn, F = T.nn, T.nn.functional
    dim, n_layers, n_heads, n_kv_heads, vocab_size, multiple_of, norm_eps = 16, 2, 4, 2, 21, 8, 1e-5
    max_batch_size, max_seq_len = 3, 12
    class RMSNorm(T.nn.Module):
        def __init__(self, dim: int, eps: float = 1e-6):
            super().__init__()
            self.eps = eps
            self.weight = nn.Parameter(T.ones(dim))
        def _norm(self, x):
            return x * T.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        def forward(self, x):
            output = self._norm(x.double()).type_as(x)
            return output * self.weight
    def precompute_freqs_cis(dim: int, end: int, theta: float = 10000.0):
        freqs = 1.0 / (theta ** (T.arange(0, dim, 2)[: (dim // 2)].double() / dim))
        t = T.arange(end, device=freqs.device, dtype=T.float64)
        freqs = T.outer(t, freqs)
        return T.polar(T.ones_like(freqs), freqs)
    def reshape_for_broadcast(freqs_cis, x):
        ndim = x.ndim
        assert 0 <= 1 < ndim
        assert freqs_cis.shape == (x.shape[1], x.shape[-1])
        shape = [d if i == 1 or i == ndim - 1 else 1 for i, d in enumerate(x.shape)]
        return freqs_cis.view(*shape)
    def apply_rotary_emb(xq, xk, freqs_cis):
        xq_ = T.view_as_complex(xq.double().reshape(*xq.shape[:-1], -1, 2))
        xk_ = T.view_as_complex(xk.double().reshape(*xk.shape[:-1], -1, 2))
        freqs_cis = reshape_for_broadcast(freqs_cis, xq_)
        xq_out = T.view_as_real(xq_ * freqs_cis).flatten(3)
        xk_out = T.view_as_real(xk_ * freqs_cis).flatten(3)
        return xq_out.type_as(xq), xk_out.type_as(xk)
    def repeat_kv(x, n_rep: int):
        bs, slen, n_kv_heads, head_dim = x.shape
        if n_rep == 1:
            return x
        return (x[:, :, :, None, :].expand(bs, slen, n_kv_heads, n_rep, head_dim)
                .reshape(bs, slen, n_kv_heads * n_rep, head_dim))
    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.n_kv_heads = n_kv_heads
            self.n_local_heads = n_heads
            self.n_local_kv_heads = self.n_kv_heads
            self.n_rep = self.n_local_heads // self.n_local_kv_heads
            self.head_dim = dim // n_heads
            self.wq = nn.Linear(dim, n_heads * self.head_dim, bias=False)
            self.wk = nn.Linear(dim, self.n_kv_heads * self.head_dim, bias=False)
            self.wv = nn.Linear(dim, self.n_kv_heads * self.head_dim, bias=False)
            self.wo = nn.Linear(n_heads * self.head_dim, dim, bias=False)
            self.cache_k = T.zeros((max_batch_size, max_seq_len, self.n_local_kv_heads, self.head_dim))
            self.cache_v = T.zeros((max_batch_size, max_seq_len, self.n_local_kv_heads, self.head_dim))
        def forward(self, x, start_pos, freqs_cis, mask, use_cache):
            bsz, seqlen, _ = x.shape
            xq, xk, xv = self.wq(x), self.wk(x), self.wv(x)
            xq = xq.view(bsz, seqlen, self.n_local_heads, self.head_dim)
            xk = xk.view(bsz, seqlen, self.n_local_kv_heads, self.head_dim)
            xv = xv.view(bsz, seqlen, self.n_local_kv_heads, self.head_dim)
            xq, xk = apply_rotary_emb(xq, xk, freqs_cis=freqs_cis)
            if use_cache:
                self.cache_k = self.cache_k.to(xq)
                self.cache_v = self.cache_v.to(xq)
                self.cache_k[:bsz, start_pos: start_pos + seqlen] = xk
                self.cache_v[:bsz, start_pos: start_pos + seqlen] = xv
                keys = self.cache_k[:bsz, : start_pos + seqlen]
                values = self.cache_v[:bsz, : start_pos + seqlen]
            else:
                keys, values = xk, xv
            keys = repeat_kv(keys, self.n_rep)
            values = repeat_kv(values, self.n_rep)
            xq = xq.transpose(1, 2)
            keys = keys.transpose(1, 2)
            values = values.transpose(1, 2)
            scores = T.matmul(xq, keys.transpose(2, 3)) / math.sqrt(self.head_dim)
            if mask is not None:
                scores = scores + mask
            scores = F.softmax(scores.double(), dim=-1).type_as(xq)
            output = T.matmul(scores, values)
            output = output.transpose(1, 2).contiguous().view(bsz, seqlen, -1)
            return self.wo(output)
    class FeedForward(nn.Module):
        def __init__(self, dim, hidden_dim, multiple_of, ffn_dim_multiplier=None):
            super().__init__()
            hidden_dim = int(2 * hidden_dim / 3)
            if ffn_dim_multiplier is not None:
                hidden_dim = int(ffn_dim_multiplier * hidden_dim)
            hidden_dim = multiple_of * ((hidden_dim + multiple_of - 1) // multiple_of)
            self.w1 = nn.Linear(dim, hidden_dim, bias=False)
            self.w2 = nn.Linear(hidden_dim, dim, bias=False)
            self.w3 = nn.Linear(dim, hidden_dim, bias=False)
        def forward(self, x):
            return self.w2(F.silu(self.w1(x)) * self.w3(x))
    class TransformerBlock(nn.Module):
        def __init__(self, layer_id):
            super().__init__()
            self.attention = Attention()
            self.feed_forward = FeedForward(dim=dim, hidden_dim=4 * dim, multiple_of=multiple_of)
            self.layer_id = layer_id
            self.attention_norm = RMSNorm(dim, eps=norm_eps)
            self.ffn_norm = RMSNorm(dim, eps=norm_eps)
        def forward(self, x, start_pos, freqs_cis, mask, use_cache):
            h = x + self.attention(self.attention_norm(x), start_pos, freqs_cis, mask, use_cache)
            return h + self.feed_forward(self.ffn_norm(h))
    class Transformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok_embeddings = nn.Embedding(vocab_size, dim)
            self.layers = T.nn.ModuleList()
            for layer_id in range(n_layers):
                self.layers.append(TransformerBlock(layer_id))
            self.norm = RMSNorm(dim, eps=norm_eps)
            self.output = nn.Linear(dim, vocab_size, bias=False)
            self.freqs_cis = precompute_freqs_cis(dim // n_heads, max_seq_len * 2)
        def forward(self, tokens, start_pos: int, use_cache=True):
            _bsz, seqlen = tokens.shape
            h = self.tok_embeddings(tokens)
            self.freqs_cis = self.freqs_cis.to(h.device)
            freqs_cis = self.freqs_cis[start_pos: start_pos + seqlen]
            mask = None
            if seqlen > 1:
                mask = T.full((seqlen, seqlen), float("-inf"), device=tokens.device)
                mask = T.triu(mask, diagonal=1)
                if use_cache:
                    mask = T.hstack([T.zeros((seqlen, start_pos), device=tokens.device), mask]).type_as(h)
            for layer in self.layers:
                h = layer(h, start_pos, freqs_cis, mask, use_cache)
            h = self.norm(h)
            return self.output(h).double()
    model = Transformer()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.AdamW(model.parameters(), lr=1e-2, betas=(0.9, 0.95), weight_decay=0.1)
    scheduler = T.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=len(batches), eta_min=1e-3)
    out = []
    for tokens in batches:
        tokens = T.tensor(tokens)
        logits = model(tokens[:, :-1], 0, use_cache=False)
        loss = F.cross_entropy(logits.reshape(-1, vocab_size), tokens[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        T.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        out += [loss, _grads(model), scheduler.get_last_lr()]
        optimizer.step()
        scheduler.step()
    with T.inference_mode():
        tokens = T.full((len(prompt), 9), 0, dtype=T.long)
        tokens[:, :3] = T.tensor(prompt)
        prev_pos = 0
        for cur_pos in range(3, 9):
            logits = model.forward(tokens[:, prev_pos:cur_pos], prev_pos)
            full = model.forward(tokens[:, :cur_pos], 0, use_cache=False)
            assert T.allclose(logits[:, -1], full[:, -1], atol=1e-12)
            next_token = T.argmax(logits[:, -1], dim=-1).reshape(-1)
            tokens[:, cur_pos] = next_token
            out += [logits, next_token]
            prev_pos = cur_pos
        out += [tokens, model.layers[0].attention.cache_k, model.layers[1].attention.cache_v]
    out.append(model.state_dict())
    return out


def test_llama_gqa_swiglu_rmsnorm_kv_cache(torch):
    rng = _rng(4)
    sd = llama(torch, None, None, None)
    batches = [rng.integers(0, 21, (3, 8)) for _ in range(3)]
    prompt = rng.integers(0, 21, (2, 3))
    _compare(llama(tg, sd, batches, prompt), llama(torch, sd, batches, prompt))


# --------------------------------------------------------------------------------------------------------- TabNet
def tabnet(T, sd, batches, x_eval):
    """dreamquark-ai/tabnet's TabNetNoEmbeddings: sparsemax as a torch.autograd.Function (the max subtracted in
    place from its input, threshold and support by sort / cumsum / gather, save_for_backward, its own backward by
    masked assignment), GBN (ghost batch norm over x.chunk), GLU layers and blocks (scale by
    torch.sqrt(torch.FloatTensor([0.5]))), shared and step-specific feature transformers, the attentive transformer
    with priors and gamma, the sparsity loss (M log(M + eps)); initialize_glu / initialize_non_glu's xavier_normal_
    gains; CrossEntropyLoss - lambda_sparse * M_loss, Adam, clip_grad_norm_; then eval mode (running statistics)
    with the masks explained."""
    nn = T.nn
    Function = T.autograd.Function
    def _make_ix_like(input, dim=0):
        d = input.size(dim)
        rho = T.arange(1, d + 1, device=input.device, dtype=input.dtype)
        view = [1] * input.dim()
        view[0] = -1
        return rho.view(view).transpose(0, dim)
    class SparsemaxFunction(Function):
        @staticmethod
        def forward(ctx, input, dim=-1):
            ctx.dim = dim
            max_val, _ = input.max(dim=dim, keepdim=True)
            input -= max_val  # same numerical stability trick as for softmax
            tau, supp_size = SparsemaxFunction._threshold_and_support(input, dim=dim)
            output = T.clamp(input - tau, min=0)
            ctx.save_for_backward(supp_size, output)
            return output
        @staticmethod
        def backward(ctx, grad_output):
            supp_size, output = ctx.saved_tensors
            dim = ctx.dim
            grad_input = grad_output.clone()
            grad_input[output == 0] = 0
            v_hat = grad_input.sum(dim=dim) / supp_size.to(output.dtype).squeeze()
            v_hat = v_hat.unsqueeze(dim)
            grad_input = T.where(output != 0, grad_input - v_hat, grad_input)
            return grad_input, None
        @staticmethod
        def _threshold_and_support(input, dim=-1):
            input_srt, _ = T.sort(input, descending=True, dim=dim)
            input_cumsum = input_srt.cumsum(dim) - 1
            rhos = _make_ix_like(input, dim)
            support = rhos * input_srt > input_cumsum
            support_size = support.sum(dim=dim).unsqueeze(dim)
            tau = input_cumsum.gather(dim, support_size - 1)
            tau /= support_size.to(input.dtype)
            return tau, support_size
    sparsemax = SparsemaxFunction.apply
    class Sparsemax(nn.Module):
        def __init__(self, dim=-1):
            self.dim = dim
            super(Sparsemax, self).__init__()
        def forward(self, input):
            return sparsemax(input, self.dim)
    def initialize_non_glu(module, input_dim, output_dim):
        gain_value = np.sqrt((input_dim + output_dim) / np.sqrt(4 * input_dim))
        T.nn.init.xavier_normal_(module.weight, gain=gain_value)
    def initialize_glu(module, input_dim, output_dim):
        gain_value = np.sqrt((input_dim + output_dim) / np.sqrt(input_dim))
        T.nn.init.xavier_normal_(module.weight, gain=gain_value)
    class GBN(T.nn.Module):
        def __init__(self, input_dim, virtual_batch_size=128, momentum=0.01):
            super(GBN, self).__init__()
            self.input_dim = input_dim
            self.virtual_batch_size = virtual_batch_size
            self.bn = nn.BatchNorm1d(self.input_dim, momentum=momentum)
        def forward(self, x):
            chunks = x.chunk(int(np.ceil(x.shape[0] / self.virtual_batch_size)), 0)
            res = [self.bn(x_) for x_ in chunks]
            return T.cat(res, dim=0)
    class GLU_Layer(T.nn.Module):
        def __init__(self, input_dim, output_dim, fc=None, virtual_batch_size=128, momentum=0.02):
            super(GLU_Layer, self).__init__()
            self.output_dim = output_dim
            if fc:
                self.fc = fc
            else:
                self.fc = nn.Linear(input_dim, 2 * output_dim, bias=False)
            initialize_glu(self.fc, input_dim, 2 * output_dim)
            self.bn = GBN(2 * output_dim, virtual_batch_size=virtual_batch_size, momentum=momentum)
        def forward(self, x):
            x = self.fc(x)
            x = self.bn(x)
            out = T.mul(x[:, : self.output_dim], T.sigmoid(x[:, self.output_dim:]))
            return out
    class GLU_Block(T.nn.Module):
        def __init__(self, input_dim, output_dim, n_glu=2, first=False, shared_layers=None, virtual_batch_size=128,
                     momentum=0.02):
            super(GLU_Block, self).__init__()
            self.first = first
            self.shared_layers = shared_layers
            self.n_glu = n_glu
            self.glu_layers = T.nn.ModuleList()
            params = {"virtual_batch_size": virtual_batch_size, "momentum": momentum}
            fc = shared_layers[0] if shared_layers else None
            self.glu_layers.append(GLU_Layer(input_dim, output_dim, fc=fc, **params))
            for glu_id in range(1, self.n_glu):
                fc = shared_layers[glu_id] if shared_layers else None
                self.glu_layers.append(GLU_Layer(output_dim, output_dim, fc=fc, **params))
        def forward(self, x):
            scale = T.sqrt(T.FloatTensor([0.5]).to(x.device))
            if self.first:  # the first layer of the block has no scale multiplication
                x = self.glu_layers[0](x)
                layers_left = range(1, self.n_glu)
            else:
                layers_left = range(self.n_glu)
            for glu_id in layers_left:
                x = T.add(x, self.glu_layers[glu_id](x))
                x = x * scale
            return x
    class FeatTransformer(T.nn.Module):
        def __init__(self, input_dim, output_dim, shared_layers, n_glu_independent, virtual_batch_size=128,
                     momentum=0.02):
            super(FeatTransformer, self).__init__()
            params = {"n_glu": n_glu_independent, "virtual_batch_size": virtual_batch_size, "momentum": momentum}
            if shared_layers is None:
                self.shared = T.nn.Identity()
                is_first = True
            else:
                self.shared = GLU_Block(input_dim, output_dim, first=True, shared_layers=shared_layers,
                                        n_glu=len(shared_layers), virtual_batch_size=virtual_batch_size,
                                        momentum=momentum)
                is_first = False
            if n_glu_independent == 0:
                self.specifics = T.nn.Identity()
            else:
                spec_input_dim = input_dim if is_first else output_dim
                self.specifics = GLU_Block(spec_input_dim, output_dim, first=is_first, **params)
        def forward(self, x):
            x = self.shared(x)
            x = self.specifics(x)
            return x
    class AttentiveTransformer(T.nn.Module):
        def __init__(self, input_dim, group_dim, group_matrix, virtual_batch_size=128, momentum=0.02):
            super(AttentiveTransformer, self).__init__()
            self.fc = nn.Linear(input_dim, group_dim, bias=False)
            initialize_non_glu(self.fc, input_dim, group_dim)
            self.bn = GBN(group_dim, virtual_batch_size=virtual_batch_size, momentum=momentum)
            self.selector = Sparsemax(dim=-1)
        def forward(self, priors, processed_feat):
            x = self.fc(processed_feat)
            x = self.bn(x)
            x = T.mul(x, priors)
            x = self.selector(x)
            return x
    class TabNetEncoder(T.nn.Module):
        def __init__(self, input_dim, output_dim, n_d=8, n_a=8, n_steps=3, gamma=1.3, n_independent=2, n_shared=2,
                     epsilon=1e-15, virtual_batch_size=128, momentum=0.02, group_attention_matrix=None):
            super(TabNetEncoder, self).__init__()
            self.input_dim, self.output_dim, self.n_d, self.n_a = input_dim, output_dim, n_d, n_a
            self.n_steps, self.gamma, self.epsilon = n_steps, gamma, epsilon
            self.n_independent, self.n_shared = n_independent, n_shared
            self.virtual_batch_size = virtual_batch_size
            self.initial_bn = nn.BatchNorm1d(self.input_dim, momentum=0.01)
            self.group_attention_matrix = group_attention_matrix
            if self.group_attention_matrix is None:
                self.group_attention_matrix = T.eye(self.input_dim)
                self.attention_dim = self.input_dim
            else:
                self.attention_dim = self.group_attention_matrix.shape[0]
            if self.n_shared > 0:
                shared_feat_transform = T.nn.ModuleList()
                for i in range(self.n_shared):
                    if i == 0:
                        shared_feat_transform.append(nn.Linear(self.input_dim, 2 * (n_d + n_a), bias=False))
                    else:
                        shared_feat_transform.append(nn.Linear(n_d + n_a, 2 * (n_d + n_a), bias=False))
            else:
                shared_feat_transform = None
            self.initial_splitter = FeatTransformer(self.input_dim, n_d + n_a, shared_feat_transform,
                                                    n_glu_independent=self.n_independent,
                                                    virtual_batch_size=self.virtual_batch_size, momentum=momentum)
            self.feat_transformers = T.nn.ModuleList()
            self.att_transformers = T.nn.ModuleList()
            for step in range(n_steps):
                transformer = FeatTransformer(self.input_dim, n_d + n_a, shared_feat_transform,
                                              n_glu_independent=self.n_independent,
                                              virtual_batch_size=self.virtual_batch_size, momentum=momentum)
                attention = AttentiveTransformer(n_a, self.attention_dim, group_matrix=group_attention_matrix,
                                                 virtual_batch_size=self.virtual_batch_size, momentum=momentum)
                self.feat_transformers.append(transformer)
                self.att_transformers.append(attention)
        def forward(self, x, prior=None):
            x = self.initial_bn(x)
            bs = x.shape[0]
            if prior is None:
                prior = T.ones((bs, self.attention_dim)).to(x.device)
            M_loss = 0
            att = self.initial_splitter(x)[:, self.n_d:]
            steps_output = []
            for step in range(self.n_steps):
                M = self.att_transformers[step](prior, att)
                M_feature_level = T.matmul(M, self.group_attention_matrix)
                M_loss += T.mean(T.sum(T.mul(M, T.log(M + self.epsilon)), dim=1))
                prior = T.mul(self.gamma - M, prior)
                masked_x = T.mul(M_feature_level, x)
                out = self.feat_transformers[step](masked_x)
                d = nn.ReLU()(out[:, : self.n_d])
                steps_output.append(d)
                att = out[:, self.n_d:]
            M_loss /= self.n_steps
            return steps_output, M_loss
        def forward_masks(self, x):
            x = self.initial_bn(x)
            bs = x.shape[0]
            prior = T.ones((bs, self.attention_dim)).to(x.device)
            M_explain = T.zeros(x.shape).to(x.device)
            att = self.initial_splitter(x)[:, self.n_d:]
            masks = {}
            for step in range(self.n_steps):
                M = self.att_transformers[step](prior, att)
                M_feature_level = T.matmul(M, self.group_attention_matrix)
                masks[step] = M_feature_level
                prior = T.mul(self.gamma - M, prior)
                masked_x = T.mul(M_feature_level, x)
                out = self.feat_transformers[step](masked_x)
                d = nn.ReLU()(out[:, : self.n_d])
                step_importance = T.sum(d, dim=1)
                M_explain += T.mul(M_feature_level, step_importance.unsqueeze(dim=1))
                att = out[:, self.n_d:]
            return M_explain, masks
    class TabNetNoEmbeddings(T.nn.Module):
        def __init__(self, input_dim, output_dim, n_d, n_a, n_steps, virtual_batch_size):
            super(TabNetNoEmbeddings, self).__init__()
            self.encoder = TabNetEncoder(input_dim, output_dim, n_d=n_d, n_a=n_a, n_steps=n_steps,
                                         virtual_batch_size=virtual_batch_size)
            self.final_mapping = nn.Linear(n_d, output_dim, bias=False)
            initialize_non_glu(self.final_mapping, n_d, output_dim)
        def forward(self, x):
            res = 0
            steps_output, M_loss = self.encoder(x)
            res = T.sum(T.stack(steps_output, dim=0), dim=0)
            out = self.final_mapping(res)
            return out, M_loss
    network = TabNetNoEmbeddings(6, 3, n_d=4, n_a=4, n_steps=3, virtual_batch_size=4)
    if sd is None:
        return _state(network)
    _load(T, network, sd)
    optimizer = T.optim.Adam(network.parameters(), lr=2e-2)
    loss_fn = T.nn.functional.cross_entropy
    lambda_sparse = 1e-3
    out = []
    network.train()
    for X, y in batches:
        X, y = T.tensor(X), T.tensor(y)
        for param in network.parameters():
            param.grad = None
        output, M_loss = network(X)
        loss = loss_fn(output, y)
        loss = loss - lambda_sparse * M_loss
        loss.backward()
        T.nn.utils.clip_grad_norm_(network.parameters(), 1.0)
        out += [output, M_loss, loss, _grads(network)]
        optimizer.step()
    network.eval()
    with T.no_grad():
        out += [network(T.tensor(x_eval)), list(network.encoder.forward_masks(T.tensor(x_eval)))]
    out.append(network.state_dict())
    return out


def test_tabnet_sparsemax_function_ghost_batch_norm(torch):
    rng = _rng(5)
    sd = tabnet(torch, None, None, None)
    batches = [(rng.standard_normal((8, 6)) * [1, 2, .5, 1, 3, 1], rng.integers(0, 3, 8)) for _ in range(3)]
    x_eval = rng.standard_normal((5, 6))
    _compare(tabnet(tg, sd, batches, x_eval), tabnet(torch, sd, batches, x_eval))


# -------------------------------------------------------------------------------------------------- FT-Transformer
def ft_transformer(T, sd, batches):
    """yandex-research/rtdl's FTTransformer, tiny: _TokenInitialization (uniform_ with 1/sqrt(d)),
    NumericalFeatureTokenizer (weight[None] * x[..., None] + bias), CategoricalFeatureTokenizer (category_offsets
    buffer from torch.tensor([0] + cardinalities[:-1]).cumsum(0), non-persistent), CLSToken.expand, its
    MultiheadAttention (xavier_uniform_ with gain 1/sqrt(2), heads folded into the batch, Linformer key / value
    compression by a Linear over the tokens), ReGLU, pre-normalization with the first block's attention
    normalization an Identity, the last block only for the CLS token, the head; optimization_param_groups (no weight
    decay on the tokenizer, the normalizations and biases) with AdamW."""
    nn, F = T.nn, T.nn.functional
    d_token, n_heads, n_blocks, ffn_d_hidden = 8, 2, 2, 6
    n_num, cardinalities, d_out = 3, [3, 4], 3
    def uniform_init(x, d):
        d_sqrt_inv = 1 / math.sqrt(d)
        nn.init.uniform_(x, a=-d_sqrt_inv, b=d_sqrt_inv)
    class NumericalFeatureTokenizer(nn.Module):
        def __init__(self, n_features, d_token, bias):
            super().__init__()
            self.weight = nn.Parameter(T.Tensor(n_features, d_token))
            self.bias = nn.Parameter(T.Tensor(n_features, d_token)) if bias else None
            for parameter in [self.weight, self.bias]:
                if parameter is not None:
                    uniform_init(parameter, d_token)
        @property
        def n_tokens(self):
            return len(self.weight)
        def forward(self, x):
            x = self.weight[None] * x[..., None]
            if self.bias is not None:
                x = x + self.bias[None]
            return x
    class CategoricalFeatureTokenizer(nn.Module):
        def __init__(self, cardinalities, d_token, bias):
            super().__init__()
            category_offsets = T.tensor([0] + cardinalities[:-1]).cumsum(0)
            self.register_buffer('category_offsets', category_offsets, persistent=False)
            self.embeddings = nn.Embedding(sum(cardinalities), d_token)
            self.bias = nn.Parameter(T.Tensor(len(cardinalities), d_token)) if bias else None
            for parameter in [self.embeddings.weight, self.bias]:
                if parameter is not None:
                    uniform_init(parameter, d_token)
        def forward(self, x):
            x = self.embeddings(x + self.category_offsets[None])
            if self.bias is not None:
                x = x + self.bias[None]
            return x
    class FeatureTokenizer(nn.Module):
        def __init__(self, n_num_features, cat_cardinalities, d_token):
            super().__init__()
            self.num_tokenizer = NumericalFeatureTokenizer(n_num_features, d_token, True)
            self.cat_tokenizer = CategoricalFeatureTokenizer(cat_cardinalities, d_token, True)
        @property
        def n_tokens(self):
            return sum(x.n_tokens if hasattr(x, 'n_tokens') else len(x.bias)
                       for x in [self.num_tokenizer, self.cat_tokenizer])
        def forward(self, x_num, x_cat):
            x = []
            if self.num_tokenizer is not None:
                x.append(self.num_tokenizer(x_num))
            if self.cat_tokenizer is not None:
                x.append(self.cat_tokenizer(x_cat))
            return x[0] if len(x) == 1 else T.cat(x, dim=1)
    class CLSToken(nn.Module):
        def __init__(self, d_token):
            super().__init__()
            self.weight = nn.Parameter(T.Tensor(d_token))
            uniform_init(self.weight, d_token)
        def expand(self, *leading_dimensions):
            if not leading_dimensions:
                return self.weight
            new_dims = (1,) * (len(leading_dimensions) - 1)
            return self.weight.view(*new_dims, -1).expand(*leading_dimensions, -1)
        def forward(self, x):
            return T.cat([x, self.expand(len(x), 1)], dim=1)
    class ReGLU(nn.Module):
        def forward(self, x):
            a, b = x.chunk(2, dim=-1)
            return a * F.relu(b)
    class MultiheadAttention(nn.Module):
        def __init__(self, *, d_token, n_heads, dropout, bias, initialization):
            super().__init__()
            self.W_q = nn.Linear(d_token, d_token, bias)
            self.W_k = nn.Linear(d_token, d_token, bias)
            self.W_v = nn.Linear(d_token, d_token, bias)
            self.W_out = nn.Linear(d_token, d_token, bias) if n_heads > 1 else None
            self.n_heads = n_heads
            self.dropout = nn.Dropout(dropout) if dropout else None
            for m in [self.W_q, self.W_k, self.W_v]:
                if initialization == 'xavier' and (m is not self.W_v or self.W_out is not None):
                    nn.init.xavier_uniform_(m.weight, gain=1 / math.sqrt(2))
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            if self.W_out is not None:
                nn.init.zeros_(self.W_out.bias)
        def _reshape(self, x):
            batch_size, n_tokens, d = x.shape
            d_head = d // self.n_heads
            return (x.reshape(batch_size, n_tokens, self.n_heads, d_head).transpose(1, 2)
                    .reshape(batch_size * self.n_heads, n_tokens, d_head))
        def forward(self, x_q, x_kv, key_compression, value_compression):
            q, k, v = self.W_q(x_q), self.W_k(x_kv), self.W_v(x_kv)
            if key_compression is not None:
                k = key_compression(k.transpose(1, 2)).transpose(1, 2)
                v = (key_compression if value_compression is None else value_compression)(
                    v.transpose(1, 2)).transpose(1, 2)
            batch_size = len(q)
            d_head_key = k.shape[-1] // self.n_heads
            d_head_value = v.shape[-1] // self.n_heads
            n_q_tokens = q.shape[1]
            q = self._reshape(q)
            k = self._reshape(k)
            attention_logits = q @ k.transpose(1, 2) / math.sqrt(d_head_key)
            attention_probs = F.softmax(attention_logits, dim=-1)
            if self.dropout is not None:
                attention_probs = self.dropout(attention_probs)
            x = attention_probs @ self._reshape(v)
            x = (x.reshape(batch_size, self.n_heads, n_q_tokens, d_head_value).transpose(1, 2)
                 .reshape(batch_size, n_q_tokens, self.n_heads * d_head_value))
            if self.W_out is not None:
                x = self.W_out(x)
            return x, {'attention_logits': attention_logits, 'attention_probs': attention_probs}
    class FTTransformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.feature_tokenizer = FeatureTokenizer(n_num, cardinalities, d_token)
            self.cls_token = CLSToken(d_token)
            n_tokens = self.feature_tokenizer.n_tokens + 1
            self.blocks = nn.ModuleList([])
            for layer_idx in range(n_blocks):
                layer = nn.ModuleDict({
                    'attention': MultiheadAttention(d_token=d_token, n_heads=n_heads, dropout=0.0, bias=True,
                                                    initialization='kaiming' if layer_idx else 'xavier'),
                    'ffn': nn.Sequential(nn.Linear(d_token, ffn_d_hidden * 2), ReGLU(),
                                         nn.Linear(ffn_d_hidden, d_token)),
                    'attention_residual_dropout': nn.Dropout(0.0),
                    'ffn_residual_dropout': nn.Dropout(0.0),
                    'output': nn.Identity(),
                    'ffn_normalization': nn.LayerNorm(d_token),
                    'key_compression': nn.Linear(n_tokens, n_tokens // 2, bias=False)})
                if layer_idx:
                    layer['attention_normalization'] = nn.LayerNorm(d_token)
                self.blocks.append(layer)
            self.head = nn.Sequential(nn.LayerNorm(d_token), nn.ReLU(), nn.Linear(d_token, d_out))
        def _start_residual(self, layer, stage, x):
            x_residual = x
            norm_key = f'{stage}_normalization'
            if norm_key in layer:
                x_residual = layer[norm_key](x_residual)
            return x_residual
        def _end_residual(self, layer, stage, x, x_residual):
            x_residual = layer[f'{stage}_residual_dropout'](x_residual)
            return x + x_residual
        def forward(self, x_num, x_cat):
            x = self.cls_token(self.feature_tokenizer(x_num, x_cat))
            attn = []
            for layer_idx, layer in enumerate(self.blocks):
                query_idx = [-1] if layer_idx + 1 == len(self.blocks) else None
                x_residual = self._start_residual(layer, 'attention', x)
                x_residual, info = layer['attention'](
                    x_residual if query_idx is None else x_residual[:, query_idx], x_residual,
                    layer['key_compression'], None)
                attn.append(info['attention_probs'])
                if query_idx is not None:
                    x = x[:, query_idx]
                x = self._end_residual(layer, 'attention', x, x_residual)
                x_residual = self._start_residual(layer, 'ffn', x)
                x_residual = layer['ffn'](x_residual)
                x = self._end_residual(layer, 'ffn', x, x_residual)
                x = layer['output'](x)
            return self.head(x[:, -1]), attn
        def optimization_param_groups(self):
            no_wd_names = ['feature_tokenizer', 'normalization', '.bias']
            assert isinstance(getattr(self, no_wd_names[0], None), FeatureTokenizer)
            assert sum(1 for name, _ in self.named_modules() if name.endswith('_normalization')) == 3
            def needs_wd(name):
                return all(x not in name for x in no_wd_names)
            return [{'params': [v for k, v in self.named_parameters() if needs_wd(k)]},
                    {'params': [v for k, v in self.named_parameters() if not needs_wd(k)], 'weight_decay': 0.0}]
    model = FTTransformer()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    assert 'feature_tokenizer.cat_tokenizer.category_offsets' not in model.state_dict()
    optimizer = T.optim.AdamW(model.optimization_param_groups(), lr=1e-2, weight_decay=1e-5)
    out = [[len(g['params']) for g in optimizer.param_groups]]
    for x_num, x_cat, y in batches:
        optimizer.zero_grad()
        logits, attn = model(T.tensor(x_num), T.tensor(x_cat))
        loss = F.cross_entropy(logits, T.tensor(y))
        loss.backward()
        out += [logits, attn, loss, _grads(model)]
        optimizer.step()
    out.append(model.state_dict())
    return out


def test_ft_transformer_feature_tokenizers_cls_linformer(torch):
    rng = _rng(6)
    sd = ft_transformer(torch, None, None)
    batches = [(rng.standard_normal((5, 3)), np.stack([rng.integers(0, 3, 5), rng.integers(0, 4, 5)], 1),
                rng.integers(0, 3, 5)) for _ in range(3)]
    _compare(ft_transformer(tg, sd, batches), ft_transformer(torch, sd, batches))


# ------------------------------------------------------------------------------------------ knowledge-graph embeddings
def transe_margin(T, sd, batches):
    """mklimasz/TransE-PyTorch: entity / relation Embeddings with a padding row, uniform_ init and relations
    L1-normalised through .data[:-1, :].div_, entities L2-renormalised in place through .data at each forward,
    distances by norm(p=1), nn.MarginRankingLoss(reduction='none') with a long target of -1, loss.mean() and SGD;
    then the hits@k / mean rank evaluation (topk over all entities, nonzero of matches)."""
    nn = T.nn
    class TransE(nn.Module):
        def __init__(self, entity_count, relation_count, device, norm=1, dim=100, margin=1.0):
            super(TransE, self).__init__()
            self.entity_count = entity_count
            self.relation_count = relation_count
            self.device = device
            self.norm = norm
            self.dim = dim
            self.entities_emb = self._init_enitity_emb()
            self.relations_emb = self._init_relation_emb()
            self.criterion = nn.MarginRankingLoss(margin=margin, reduction='none')
        def _init_enitity_emb(self):
            entities_emb = nn.Embedding(num_embeddings=self.entity_count + 1, embedding_dim=self.dim,
                                        padding_idx=self.entity_count)
            uniform_range = 6 / np.sqrt(self.dim)
            entities_emb.weight.data.uniform_(-uniform_range, uniform_range)
            return entities_emb
        def _init_relation_emb(self):
            relations_emb = nn.Embedding(num_embeddings=self.relation_count + 1, embedding_dim=self.dim,
                                         padding_idx=self.relation_count)
            uniform_range = 6 / np.sqrt(self.dim)
            relations_emb.weight.data.uniform_(-uniform_range, uniform_range)
            # -1 to avoid nan for OOV vector
            relations_emb.weight.data[:-1, :].div_(relations_emb.weight.data[:-1, :].norm(p=1, dim=1, keepdim=True))
            return relations_emb
        def forward(self, positive_triplets, negative_triplets):
            # -1 to avoid nan for OOV vector
            self.entities_emb.weight.data[:-1, :].div_(
                self.entities_emb.weight.data[:-1, :].norm(p=2, dim=1, keepdim=True))
            assert positive_triplets.size()[1] == 3
            positive_distances = self._distance(positive_triplets)
            assert negative_triplets.size()[1] == 3
            negative_distances = self._distance(negative_triplets)
            return self.loss(positive_distances, negative_distances), positive_distances, negative_distances
        def predict(self, triplets):
            return self._distance(triplets)
        def loss(self, positive_distances, negative_distances):
            target = T.tensor([-1], dtype=T.long, device=self.device)
            return self.criterion(positive_distances, negative_distances, target)
        def _distance(self, triplets):
            assert triplets.size()[1] == 3
            heads = triplets[:, 0]
            relations = triplets[:, 1]
            tails = triplets[:, 2]
            return (self.entities_emb(heads) + self.relations_emb(relations) - self.entities_emb(tails)).norm(
                p=self.norm, dim=1)
    def hit_at_k(predictions, ground_truth_idx, device, k=10):
        assert predictions.size(0) == ground_truth_idx.size(0)
        zero_tensor = T.tensor([0], device=device)
        one_tensor = T.tensor([1], device=device)
        _, indices = predictions.topk(k=k, largest=False)
        return T.where(indices == ground_truth_idx, one_tensor, zero_tensor).sum().item()
    def mrr(predictions, ground_truth_idx):
        indices = predictions.argsort()
        return (1.0 / (indices == ground_truth_idx).nonzero()[:, 1].float().add(1.0)).sum().item()
    n_ent, n_rel = 7, 3
    model = TransE(n_ent, n_rel, "cpu", norm=1, dim=5, margin=1.0)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.SGD(model.parameters(), lr=0.05)
    out = []
    model.train()
    for local_heads, local_relations, local_tails, head_or_tail, random_entities in batches:
        local_heads, local_relations, local_tails = T.tensor(local_heads), T.tensor(local_relations), \
            T.tensor(local_tails)
        positive_triples = T.stack((local_heads, local_relations, local_tails), dim=1)
        head_or_tail, random_entities = T.tensor(head_or_tail), T.tensor(random_entities)
        broken_heads = T.where(head_or_tail == 1, random_entities, local_heads)
        broken_tails = T.where(head_or_tail == 0, random_entities, local_tails)
        negative_triples = T.stack((broken_heads, local_relations, broken_tails), dim=1)
        optimizer.zero_grad()
        loss, pd, nd = model(positive_triples, negative_triples)
        loss.mean().backward()
        out += [loss, pd, nd, _grads(model)]
        optimizer.step()
    model.eval()
    with T.no_grad():
        heads, relations, tails = (T.tensor(v) for v in batches[0][:3])
        batch_size = heads.size()[0]
        all_entities = T.arange(end=n_ent).unsqueeze(0).repeat(batch_size, 1)
        heads_r = heads.reshape(-1, 1).repeat(1, all_entities.size()[1])
        relations_r = relations.reshape(-1, 1).repeat(1, all_entities.size()[1])
        tails_r = tails.reshape(-1, 1).repeat(1, all_entities.size()[1])
        triplets = T.stack((heads_r, relations_r, all_entities), dim=2).reshape(-1, 3)
        tails_predictions = model.predict(triplets).reshape(batch_size, -1)
        triplets = T.stack((all_entities, relations_r, tails_r), dim=2).reshape(-1, 3)
        heads_predictions = model.predict(triplets).reshape(batch_size, -1)
        predictions = T.cat((tails_predictions, heads_predictions), dim=0)
        ground_truth_entity_id = T.cat((tails.reshape(-1, 1), heads.reshape(-1, 1)))
        out += [predictions, hit_at_k(predictions, ground_truth_entity_id, "cpu", k=3),
                mrr(predictions, ground_truth_entity_id)]
    out.append(model.state_dict())
    return out


def test_transe_margin_ranking_renormalised(torch):
    rng = _rng(7)
    sd = transe_margin(torch, None, None)
    batches = [(rng.integers(0, 7, 6), rng.integers(0, 3, 6), rng.integers(0, 7, 6), rng.integers(0, 2, 6),
                rng.integers(0, 7, 6)) for _ in range(3)]
    _compare(transe_margin(tg, sd, batches), transe_margin(torch, sd, batches))


def kge_model(T, sd, model_name, batches, test_triples):
    """DeepGraphLearning/KnowledgeGraphEmbedding's KGEModel (TransE, DistMult, ComplEx, RotatE): gamma and
    embedding_range as frozen Parameters, uniform_ init, index_select of the samples, head-batch / tail-batch
    negatives, RotatE's rotation by cos / sin of the phase with the distance by stack + norm(dim=0), ComplEx by
    chunk; train_step's self-adversarial negative sampling (softmax(score * temperature).detach() * logsigmoid),
    subsampling weights, the L3 regulariser (norm(p=3) ** 3); Adam; test_step's filtered ranking (a filter_bias
    added, argsort descending, nonzero of the positive) for MRR and HITS@k."""
    nn, F = T.nn, T.nn.functional
    class KGEModel(nn.Module):
        def __init__(self, model_name, nentity, nrelation, hidden_dim, gamma, double_entity_embedding=False,
                     double_relation_embedding=False):
            super(KGEModel, self).__init__()
            self.model_name = model_name
            self.nentity = nentity
            self.nrelation = nrelation
            self.hidden_dim = hidden_dim
            self.epsilon = 2.0
            self.gamma = nn.Parameter(T.Tensor([gamma]), requires_grad=False)
            self.embedding_range = nn.Parameter(T.Tensor([(self.gamma.item() + self.epsilon) / hidden_dim]),
                                                requires_grad=False)
            self.entity_dim = hidden_dim * 2 if double_entity_embedding else hidden_dim
            self.relation_dim = hidden_dim * 2 if double_relation_embedding else hidden_dim
            self.entity_embedding = nn.Parameter(T.zeros(nentity, self.entity_dim))
            nn.init.uniform_(tensor=self.entity_embedding, a=-self.embedding_range.item(),
                             b=self.embedding_range.item())
            self.relation_embedding = nn.Parameter(T.zeros(nrelation, self.relation_dim))
            nn.init.uniform_(tensor=self.relation_embedding, a=-self.embedding_range.item(),
                             b=self.embedding_range.item())
        def forward(self, sample, mode='single'):
            if mode == 'single':
                head = T.index_select(self.entity_embedding, dim=0, index=sample[:, 0]).unsqueeze(1)
                relation = T.index_select(self.relation_embedding, dim=0, index=sample[:, 1]).unsqueeze(1)
                tail = T.index_select(self.entity_embedding, dim=0, index=sample[:, 2]).unsqueeze(1)
            elif mode == 'head-batch':
                tail_part, head_part = sample
                batch_size, negative_sample_size = head_part.size(0), head_part.size(1)
                head = T.index_select(self.entity_embedding, dim=0, index=head_part.view(-1)).view(
                    batch_size, negative_sample_size, -1)
                relation = T.index_select(self.relation_embedding, dim=0, index=tail_part[:, 1]).unsqueeze(1)
                tail = T.index_select(self.entity_embedding, dim=0, index=tail_part[:, 2]).unsqueeze(1)
            elif mode == 'tail-batch':
                head_part, tail_part = sample
                batch_size, negative_sample_size = tail_part.size(0), tail_part.size(1)
                head = T.index_select(self.entity_embedding, dim=0, index=head_part[:, 0]).unsqueeze(1)
                relation = T.index_select(self.relation_embedding, dim=0, index=head_part[:, 1]).unsqueeze(1)
                tail = T.index_select(self.entity_embedding, dim=0, index=tail_part.view(-1)).view(
                    batch_size, negative_sample_size, -1)
            else:
                raise ValueError('mode %s not supported' % mode)
            model_func = {'TransE': self.TransE, 'DistMult': self.DistMult, 'ComplEx': self.ComplEx,
                          'RotatE': self.RotatE}
            return model_func[self.model_name](head, relation, tail, mode)
        def TransE(self, head, relation, tail, mode):
            if mode == 'head-batch':
                score = head + (relation - tail)
            else:
                score = (head + relation) - tail
            return self.gamma.item() - T.norm(score, p=1, dim=2)
        def DistMult(self, head, relation, tail, mode):
            if mode == 'head-batch':
                score = head * (relation * tail)
            else:
                score = (head * relation) * tail
            return score.sum(dim=2)
        def ComplEx(self, head, relation, tail, mode):
            re_head, im_head = T.chunk(head, 2, dim=2)
            re_relation, im_relation = T.chunk(relation, 2, dim=2)
            re_tail, im_tail = T.chunk(tail, 2, dim=2)
            if mode == 'head-batch':
                re_score = re_relation * re_tail + im_relation * im_tail
                im_score = re_relation * im_tail - im_relation * re_tail
                score = re_head * re_score + im_head * im_score
            else:
                re_score = re_head * re_relation - im_head * im_relation
                im_score = re_head * im_relation + im_head * re_relation
                score = re_score * re_tail + im_score * im_tail
            return score.sum(dim=2)
        def RotatE(self, head, relation, tail, mode):
            pi = 3.14159265358979323846
            re_head, im_head = T.chunk(head, 2, dim=2)
            re_tail, im_tail = T.chunk(tail, 2, dim=2)
            phase_relation = relation / (self.embedding_range.item() / pi)
            re_relation = T.cos(phase_relation)
            im_relation = T.sin(phase_relation)
            if mode == 'head-batch':
                re_score = re_relation * re_tail + im_relation * im_tail
                im_score = re_relation * im_tail - im_relation * re_tail
                re_score = re_score - re_head
                im_score = im_score - im_head
            else:
                re_score = re_head * re_relation - im_head * im_relation
                im_score = re_head * im_relation + im_head * re_relation
                re_score = re_score - re_tail
                im_score = im_score - im_tail
            score = T.stack([re_score, im_score], dim=0)
            score = score.norm(dim=0)
            return self.gamma.item() - score.sum(dim=2)
        @staticmethod
        def train_step(model, optimizer, batch, args):
            model.train()
            optimizer.zero_grad()
            positive_sample, negative_sample, subsampling_weight, mode = batch
            negative_score = model((positive_sample, negative_sample), mode=mode)
            if args['negative_adversarial_sampling']:
                negative_score = (F.softmax(negative_score * args['adversarial_temperature'], dim=1).detach()
                                  * F.logsigmoid(-negative_score)).sum(dim=1)
            else:
                negative_score = F.logsigmoid(-negative_score).mean(dim=1)
            positive_score = model(positive_sample)
            positive_score = F.logsigmoid(positive_score).squeeze(dim=1)
            positive_sample_loss = - (subsampling_weight * positive_score).sum() / subsampling_weight.sum()
            negative_sample_loss = - (subsampling_weight * negative_score).sum() / subsampling_weight.sum()
            loss = (positive_sample_loss + negative_sample_loss) / 2
            if args['regularization'] != 0.0:
                regularization = args['regularization'] * (
                    model.entity_embedding.norm(p=3) ** 3 + model.relation_embedding.norm(p=3).norm(p=3) ** 3)
                loss = loss + regularization
            loss.backward()
            optimizer.step()
            return [positive_sample_loss, negative_sample_loss, loss]
        @staticmethod
        def test_step(model, test_triples, filter_bias):
            model.eval()
            logs = []
            with T.no_grad():
                for positive_sample, negative_sample, fb, mode in test_triples:
                    batch_size = positive_sample.size(0)
                    score = model((positive_sample, negative_sample), mode)
                    score += fb
                    argsort = T.argsort(score, dim=1, descending=True)
                    if mode == 'head-batch':
                        positive_arg = positive_sample[:, 0]
                    else:
                        positive_arg = positive_sample[:, 2]
                    for i in range(batch_size):
                        ranking = (argsort[i, :] == positive_arg[i]).nonzero()
                        assert ranking.size(0) == 1
                        ranking = 1 + ranking.item()
                        logs.append({'MRR': 1.0 / ranking, 'MR': float(ranking),
                                     'HITS@1': 1.0 if ranking <= 1 else 0.0, 'HITS@3': 1.0 if ranking <= 3 else 0.0})
            return {metric: sum([log[metric] for log in logs]) / len(logs) for metric in logs[0].keys()}
    model = KGEModel(model_name, 8, 3, 4, gamma=6.0, double_entity_embedding=model_name in ('RotatE', 'ComplEx'),
                     double_relation_embedding=model_name == 'ComplEx')
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.Adam(filter(lambda p: p.requires_grad, model.parameters()), lr=0.05)
    args = {'negative_adversarial_sampling': model_name != 'DistMult', 'adversarial_temperature': 1.0,
            'regularization': 1e-3 if model_name in ('ComplEx', 'DistMult') else 0.0}
    out = []
    for pos, neg, w, mode in batches:
        out += [KGEModel.train_step(model, optimizer, (T.tensor(pos), T.tensor(neg), T.tensor(w), mode), args),
                _grads(model)]
    out.append(KGEModel.test_step(model, [(T.tensor(p), T.tensor(n), T.tensor(fb), m)
                                          for p, n, fb, m in test_triples], None))
    out.append(model.state_dict())
    return out


@pytest.mark.parametrize("model_name", ["TransE", "DistMult", "ComplEx", "RotatE"])
def test_kge_self_adversarial_negative_sampling(torch, model_name):
    rng = _rng(8)
    sd = kge_model(torch, None, model_name, None, None)
    batches = []
    for mode in ("head-batch", "tail-batch", "head-batch"):
        pos = np.stack([rng.integers(0, 8, 4), rng.integers(0, 3, 4), rng.integers(0, 8, 4)], 1)
        batches.append((pos, rng.integers(0, 8, (4, 5)), 1 / np.sqrt(rng.integers(1, 5, 4) + 3.0), mode))
    test_triples = []
    for mode in ("head-batch", "tail-batch"):
        pos = np.stack([rng.integers(0, 8, 3), rng.integers(0, 3, 3), rng.integers(0, 8, 3)], 1)
        fb = np.where(rng.random((3, 8)) < 0.2, -1.0, 0.0)
        fb[np.arange(3), pos[:, 0 if mode == "head-batch" else 2]] = 0.0
        test_triples.append((pos, np.tile(np.arange(8), (3, 1)), fb, mode))
    _compare(kge_model(tg, sd, model_name, batches, test_triples),
             kge_model(torch, sd, model_name, batches, test_triples))


def kbc_complex_n3(T, sd, examples, perms, queries, filters):
    """facebookresearch/kbc: ComplEx with nn.Embedding(sparse=True) tables scaled by init_size through .data, the
    1-N scores against every entity through the embedding's weight itself (so its gradient is a sparse part and a
    dense part), the N3 regulariser (sum |f|^3 of the factor moduli, over the batch), KBCOptimizer's epoch (examples
    permuted by given randperms, batches, CrossEntropyLoss + regulariser), Adagrad; then get_ranking's filtered
    ranks (scores of known answers set to -1e6 by LongTensor index, ranks by (scores >= targets) sums)."""
    nn = T.nn
    class ComplEx(nn.Module):
        def __init__(self, sizes, rank, init_size=1e-3):
            super(ComplEx, self).__init__()
            self.sizes = sizes
            self.rank = rank
            self.embeddings = nn.ModuleList([nn.Embedding(s, 2 * rank, sparse=True) for s in sizes[:2]])
            self.embeddings[0].weight.data *= init_size
            self.embeddings[1].weight.data *= init_size
        def score(self, x):
            lhs = self.embeddings[0](x[:, 0])
            rel = self.embeddings[1](x[:, 1])
            rhs = self.embeddings[0](x[:, 2])
            lhs = lhs[:, :self.rank], lhs[:, self.rank:]
            rel = rel[:, :self.rank], rel[:, self.rank:]
            rhs = rhs[:, :self.rank], rhs[:, self.rank:]
            return T.sum((lhs[0] * rel[0] - lhs[1] * rel[1]) * rhs[0] + (lhs[0] * rel[1] + lhs[1] * rel[0]) * rhs[1],
                         1, keepdim=True)
        def forward(self, x):
            lhs = self.embeddings[0](x[:, 0])
            rel = self.embeddings[1](x[:, 1])
            rhs = self.embeddings[0](x[:, 2])
            lhs = lhs[:, :self.rank], lhs[:, self.rank:]
            rel = rel[:, :self.rank], rel[:, self.rank:]
            rhs = rhs[:, :self.rank], rhs[:, self.rank:]
            to_score = self.embeddings[0].weight
            to_score = to_score[:, :self.rank], to_score[:, self.rank:]
            return (
                (lhs[0] * rel[0] - lhs[1] * rel[1]) @ to_score[0].transpose(0, 1) +
                (lhs[0] * rel[1] + lhs[1] * rel[0]) @ to_score[1].transpose(0, 1)
            ), (
                T.sqrt(lhs[0] ** 2 + lhs[1] ** 2),
                T.sqrt(rel[0] ** 2 + rel[1] ** 2),
                T.sqrt(rhs[0] ** 2 + rhs[1] ** 2)
            )
        def get_rhs(self, chunk_begin, chunk_size):
            return self.embeddings[0].weight.data[chunk_begin:chunk_begin + chunk_size].transpose(0, 1)
        def get_queries(self, queries):
            lhs = self.embeddings[0](queries[:, 0])
            rel = self.embeddings[1](queries[:, 1])
            lhs = lhs[:, :self.rank], lhs[:, self.rank:]
            rel = rel[:, :self.rank], rel[:, self.rank:]
            return T.cat([lhs[0] * rel[0] - lhs[1] * rel[1], lhs[0] * rel[1] + lhs[1] * rel[0]], 1)
        def get_ranking(self, queries, filters, batch_size=1000, chunk_size=-1):
            if chunk_size < 0:
                chunk_size = self.sizes[2]
            ranks = T.ones(len(queries))
            with T.no_grad():
                c_begin = 0
                while c_begin < self.sizes[2]:
                    b_begin = 0
                    rhs = self.get_rhs(c_begin, chunk_size)
                    while b_begin < len(queries):
                        these_queries = queries[b_begin:b_begin + batch_size]
                        q = self.get_queries(these_queries)
                        scores = q @ rhs
                        targets = self.score(these_queries)
                        for i, query in enumerate(these_queries):
                            filter_out = filters[(query[0].item(), query[1].item())]
                            filter_out += [queries[b_begin + i, 2].item()]
                            if chunk_size < self.sizes[2]:
                                filter_in_chunk = [int(x - c_begin) for x in filter_out
                                                   if c_begin <= x < c_begin + chunk_size]
                                scores[i, T.LongTensor(filter_in_chunk)] = -1e6
                            else:
                                scores[i, T.LongTensor(filter_out)] = -1e6
                        ranks[b_begin:b_begin + batch_size] += T.sum((scores >= targets).float(), dim=1).cpu()
                        b_begin += batch_size
                    c_begin += chunk_size
            return ranks
    class N3(nn.Module):
        def __init__(self, weight: float):
            super(N3, self).__init__()
            self.weight = weight
        def forward(self, factors):
            norm = 0
            for f in factors:
                norm += self.weight * T.sum(T.abs(f) ** 3)
            return norm / factors[0].shape[0]
    n_ent, n_rel = 9, 2
    model = ComplEx((n_ent, 2 * n_rel, n_ent), 3, init_size=0.5)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    regularizer = N3(1e-2)
    optimizer = T.optim.Adagrad(model.parameters(), lr=0.1)
    loss = nn.CrossEntropyLoss(reduction='mean')
    batch_size = 4
    out = []
    examples = T.from_numpy(examples)
    for perm in perms:
        actual_examples = examples[T.from_numpy(perm), :]
        b_begin = 0
        while b_begin < examples.shape[0]:
            input_batch = actual_examples[b_begin:b_begin + batch_size]
            predictions, factors = model.forward(input_batch)
            truth = input_batch[:, 2]
            l_fit = loss(predictions, truth)
            l_reg = regularizer.forward(factors)
            l = l_fit + l_reg
            optimizer.zero_grad()
            l.backward()
            out += [predictions, l_fit, l_reg, _grads(model), [p.grad.is_sparse for p in model.parameters()]]
            optimizer.step()
            b_begin += batch_size
    out.append(model.get_ranking(T.from_numpy(queries), {k: list(v) for k, v in filters.items()}, batch_size=3,
                                 chunk_size=5))
    out.append(model.state_dict())
    return out


@pytest.mark.filterwarnings("ignore:Sparse invariant checks")  # (torch's Adagrad, on the sparse gradient)
def test_kbc_complex_n3_sparse_and_dense_gradients_adagrad(torch):
    rng = _rng(9)
    sd = kbc_complex_n3(torch, None, None, None, None, None)
    triples = np.stack([rng.integers(0, 9, 10), rng.integers(0, 2, 10), rng.integers(0, 9, 10)], 1)
    examples = np.concatenate([triples, triples[:, [2, 1, 0]] + [0, 2, 0]])  # (kbc's reciprocal relations)
    perms = [rng.permutation(len(examples)) for _ in range(2)]
    filters = {}
    for lhs, rel, rhs in examples:
        filters.setdefault((int(lhs), int(rel)), []).append(int(rhs))
    queries = examples[:7]
    _compare(kbc_complex_n3(tg, sd, examples, perms, queries, filters),
             kbc_complex_n3(torch, sd, examples, perms, queries, filters))


# ------------------------------------------------------------------------------------------------------- Longformer
def longformer(T, sd, batches):
    """HF's LongformerSelfAttention (local attention only): _chunk by view + as_strided with overlapping chunks
    (stride halved), the diagonal scores by einsum, _pad_and_transpose_last_two_dims, slice assignments into
    new_zeros, _mask_invalid_locations (new_ones().tril().flip, full_like(-inf).where, written back in place),
    the padding mask through the same banded product, masked_fill of padded queries, _pad_and_diagonalize and the
    as_strided value chunks of F.pad(value=-1); in a tiny classifier trained with Adam; its output checked against
    dense attention under a band mask. (HF's softmax takes dtype=torch.float32, for half-precision runs: float64
    here.)"""
    nn, F = T.nn, T.nn.functional
    D, H, W, V = 8, 2, 2, 13  # (one_sided_attn_window_size W: attention_window 2 W)
    class LongformerSelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.num_heads = H
            self.head_dim = D // H
            self.embed_dim = D
            self.query, self.key, self.value = nn.Linear(D, D), nn.Linear(D, D), nn.Linear(D, D)
            self.dropout = 0.0
            self.one_sided_attn_window_size = W
        def forward(self, hidden_states, attention_mask=None, is_index_masked=None):
            hidden_states = hidden_states.transpose(0, 1)
            query_vectors = self.query(hidden_states)
            key_vectors = self.key(hidden_states)
            value_vectors = self.value(hidden_states)
            seq_len, batch_size, embed_dim = hidden_states.size()
            query_vectors /= math.sqrt(self.head_dim)
            query_vectors = query_vectors.view(seq_len, batch_size, self.num_heads, self.head_dim).transpose(0, 1)
            key_vectors = key_vectors.view(seq_len, batch_size, self.num_heads, self.head_dim).transpose(0, 1)
            attn_scores = self._sliding_chunks_query_key_matmul(query_vectors, key_vectors,
                                                                self.one_sided_attn_window_size)
            remove_from_windowed_attention_mask = (attention_mask != 0)[:, :, None, None]
            float_mask = remove_from_windowed_attention_mask.type_as(query_vectors).masked_fill(
                remove_from_windowed_attention_mask, T.finfo(query_vectors.dtype).min)
            diagonal_mask = self._sliding_chunks_query_key_matmul(
                float_mask.new_ones(size=float_mask.size()), float_mask, self.one_sided_attn_window_size)
            attn_scores += diagonal_mask
            attn_probs = nn.functional.softmax(attn_scores, dim=-1, dtype=T.float64)
            attn_probs = T.masked_fill(attn_probs, is_index_masked[:, :, None, None], 0.0)
            attn_probs = attn_probs.type_as(attn_scores)
            attn_probs = nn.functional.dropout(attn_probs, p=self.dropout, training=self.training)
            value_vectors = value_vectors.view(seq_len, batch_size, self.num_heads, self.head_dim).transpose(0, 1)
            attn_output = self._sliding_chunks_matmul_attn_probs_value(attn_probs, value_vectors,
                                                                       self.one_sided_attn_window_size)
            attn_output = attn_output.transpose(0, 1).reshape(seq_len, batch_size, embed_dim).contiguous()
            return attn_output.transpose(0, 1), attn_probs
        @staticmethod
        def _pad_and_transpose_last_two_dims(hidden_states_padded, padding):
            hidden_states_padded = nn.functional.pad(hidden_states_padded, padding)
            hidden_states_padded = hidden_states_padded.view(
                *hidden_states_padded.size()[:-2], hidden_states_padded.size(-1), hidden_states_padded.size(-2))
            return hidden_states_padded
        @staticmethod
        def _pad_and_diagonalize(chunked_hidden_states):
            total_num_heads, num_chunks, window_overlap, hidden_dim = chunked_hidden_states.size()
            chunked_hidden_states = nn.functional.pad(chunked_hidden_states, (0, window_overlap + 1))
            chunked_hidden_states = chunked_hidden_states.view(total_num_heads, num_chunks, -1)
            chunked_hidden_states = chunked_hidden_states[:, :, :-window_overlap]
            chunked_hidden_states = chunked_hidden_states.view(
                total_num_heads, num_chunks, window_overlap, window_overlap + hidden_dim)
            chunked_hidden_states = chunked_hidden_states[:, :, :, :-1]
            return chunked_hidden_states
        @staticmethod
        def _chunk(hidden_states, window_overlap):
            hidden_states = hidden_states.view(
                hidden_states.size(0), T.div(hidden_states.size(1), (window_overlap * 2), rounding_mode="trunc"),
                window_overlap * 2, hidden_states.size(2))
            chunk_size = list(hidden_states.size())
            chunk_size[1] = chunk_size[1] * 2 - 1
            chunk_stride = list(hidden_states.stride())
            chunk_stride[1] = chunk_stride[1] // 2
            return hidden_states.as_strided(size=chunk_size, stride=chunk_stride)
        @staticmethod
        def _mask_invalid_locations(input_tensor, affected_seq_len):
            beginning_mask_2d = input_tensor.new_ones(affected_seq_len, affected_seq_len + 1).tril().flip(dims=[0])
            beginning_mask = beginning_mask_2d[None, :, None, :]
            ending_mask = beginning_mask.flip(dims=(1, 3))
            beginning_input = input_tensor[:, :affected_seq_len, :, : affected_seq_len + 1]
            beginning_mask = beginning_mask.expand(beginning_input.size())
            input_tensor[:, :affected_seq_len, :, : affected_seq_len + 1] = T.full_like(
                beginning_input, -float("inf")).where(beginning_mask.bool(), beginning_input)
            ending_input = input_tensor[:, -affected_seq_len:, :, -(affected_seq_len + 1):]
            ending_mask = ending_mask.expand(ending_input.size())
            input_tensor[:, -affected_seq_len:, :, -(affected_seq_len + 1):] = T.full_like(
                ending_input, -float("inf")).where(ending_mask.bool(), ending_input)
        def _sliding_chunks_query_key_matmul(self, query, key, window_overlap):
            batch_size, seq_len, num_heads, head_dim = query.size()
            assert seq_len % (window_overlap * 2) == 0
            assert query.size() == key.size()
            chunks_count = T.div(seq_len, window_overlap, rounding_mode="trunc") - 1
            query = query.transpose(1, 2).reshape(batch_size * num_heads, seq_len, head_dim)
            key = key.transpose(1, 2).reshape(batch_size * num_heads, seq_len, head_dim)
            query = self._chunk(query, window_overlap)
            key = self._chunk(key, window_overlap)
            diagonal_chunked_attention_scores = T.einsum("bcxd,bcyd->bcxy", (query, key))
            diagonal_chunked_attention_scores = self._pad_and_transpose_last_two_dims(
                diagonal_chunked_attention_scores, padding=(0, 0, 0, 1))
            diagonal_attention_scores = diagonal_chunked_attention_scores.new_zeros(
                (batch_size * num_heads, chunks_count + 1, window_overlap, window_overlap * 2 + 1))
            diagonal_attention_scores[:, :-1, :, window_overlap:] = diagonal_chunked_attention_scores[
                :, :, :window_overlap, : window_overlap + 1]
            diagonal_attention_scores[:, -1, :, window_overlap:] = diagonal_chunked_attention_scores[
                :, -1, window_overlap:, : window_overlap + 1]
            diagonal_attention_scores[:, 1:, :, :window_overlap] = diagonal_chunked_attention_scores[
                :, :, -(window_overlap + 1): -1, window_overlap + 1:]
            diagonal_attention_scores[:, 0, 1:window_overlap, 1:window_overlap] = diagonal_chunked_attention_scores[
                :, 0, : window_overlap - 1, 1 - window_overlap:]
            diagonal_attention_scores = diagonal_attention_scores.view(
                batch_size, num_heads, seq_len, 2 * window_overlap + 1).transpose(2, 1)
            self._mask_invalid_locations(diagonal_attention_scores, window_overlap)
            return diagonal_attention_scores
        def _sliding_chunks_matmul_attn_probs_value(self, attn_probs, value, window_overlap):
            batch_size, seq_len, num_heads, head_dim = value.size()
            assert seq_len % (window_overlap * 2) == 0
            assert attn_probs.size()[:3] == value.size()[:3]
            assert attn_probs.size(3) == 2 * window_overlap + 1
            chunks_count = T.div(seq_len, window_overlap, rounding_mode="trunc") - 1
            chunked_attn_probs = attn_probs.transpose(1, 2).reshape(
                batch_size * num_heads, T.div(seq_len, window_overlap, rounding_mode="trunc"), window_overlap,
                2 * window_overlap + 1)
            value = value.transpose(1, 2).reshape(batch_size * num_heads, seq_len, head_dim)
            padded_value = nn.functional.pad(value, (0, 0, window_overlap, window_overlap), value=-1)
            chunked_value_size = (batch_size * num_heads, chunks_count + 1, 3 * window_overlap, head_dim)
            chunked_value_stride = padded_value.stride()
            chunked_value_stride = (chunked_value_stride[0], window_overlap * chunked_value_stride[1],
                                    chunked_value_stride[1], chunked_value_stride[2])
            chunked_value = padded_value.as_strided(size=chunked_value_size, stride=chunked_value_stride)
            chunked_attn_probs = self._pad_and_diagonalize(chunked_attn_probs)
            context = T.einsum("bcwd,bcdh->bcwh", (chunked_attn_probs, chunked_value))
            return context.view(batch_size, num_heads, seq_len, head_dim).transpose(1, 2)
    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(V, D, padding_idx=1)
            self.pos = nn.Embedding(16, D)
            self.attn = LongformerSelfAttention()
            self.ln = nn.LayerNorm(D)
            self.out = nn.Linear(D, 2)
        def forward(self, ids, mask):
            h = self.emb(ids) + self.pos(T.arange(ids.shape[1]))
            ext = (1.0 - mask[:, :].to(h.dtype)) * -10000.0
            a, probs = self.attn(h, attention_mask=ext, is_index_masked=ext < 0)
            h = self.ln(h + a)
            return self.out((h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)), probs, a
    model = Classifier()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.Adam(model.parameters(), lr=1e-2)
    out = []
    for ids, mask, y in batches:
        ids, mask = T.tensor(ids), T.tensor(mask)
        logits, probs, a = model(ids, mask)
        with T.no_grad():  # (the same attention, dense under a band mask)
            m = model.attn
            B, S = ids.shape
            h = model.emb(ids) + model.pos(T.arange(S))
            q = (m.query(h) / math.sqrt(m.head_dim)).view(B, S, H, -1).transpose(1, 2)
            k, v = (f(h).view(B, S, H, -1).transpose(1, 2) for f in (m.key, m.value))
            i = T.arange(S)
            band = ((i[:, None] - i[None, :]).abs() <= W) & mask.bool()[:, None, None, :]
            dense = (q @ k.transpose(-1, -2)).masked_fill(~band, float("-inf")).softmax(-1)
            dense = (dense.masked_fill(~mask.bool()[:, None, :, None], 0.0) @ v).transpose(1, 2).reshape(B, S, D)
            assert T.allclose(dense, a, atol=1e-12)
        loss = F.cross_entropy(logits, T.tensor(y))
        optimizer.zero_grad()
        loss.backward()
        out += [logits, probs, loss, _grads(model)]
        optimizer.step()
    out.append(model.state_dict())
    return out


def test_longformer_sliding_chunks_as_strided(torch):
    rng = _rng(10)
    sd = longformer(torch, None, None)
    batches = []
    for _ in range(3):
        ids = rng.integers(2, 13, (2, 8))
        mask = np.ones((2, 8), dtype=np.int64)
        mask[1, 6:] = 0
        ids[mask == 0] = 1
        batches.append((ids, mask, rng.integers(0, 2, 2)))
    _compare(longformer(tg, sd, batches), longformer(torch, sd, batches))


# ------------------------------------------------------------------------------------------------------ DeBERTa-v2
def deberta_v2(T, sd, batches):
    """HF's DebertaV2 (disentangled attention), tiny: make_log_bucket_position (sign, where, ceil of log ratios),
    build_relative_position, shared attention keys for the relative embeddings (transpose_for_scores + repeat),
    content-to-position and position-to-content scores by bmm and gather of clamped indices (expand of the
    squeezed positions), the scale sqrt(torch.tensor(d, dtype=torch.float) * scale_factor), the pairwise attention
    mask (mask * mask^T) with masked_fill of finfo.min, LayerNorm'd relative embeddings, embeddings multiplied by
    the mask, ContextPooler; a sequence classifier trained with AdamW."""
    nn, F = T.nn, T.nn.functional
    V, D, H, I, L = 17, 8, 2, 12, 2
    position_buckets, max_relative_positions = 4, 8
    def make_log_bucket_position(relative_pos, bucket_size, max_position):
        sign = T.sign(relative_pos)
        mid = bucket_size // 2
        abs_pos = T.where(
            (relative_pos < mid) & (relative_pos > -mid), T.tensor(mid - 1).type_as(relative_pos),
            T.abs(relative_pos))
        log_pos = T.ceil(T.log(abs_pos / mid) / T.log(T.tensor((max_position - 1) / mid)) * (mid - 1)) + mid
        bucket_pos = T.where(abs_pos <= mid, relative_pos.type_as(log_pos), log_pos * sign)
        return bucket_pos
    def build_relative_position(query_layer, key_layer, bucket_size=-1, max_position=-1):
        query_size = query_layer.size(-2)
        key_size = key_layer.size(-2)
        q_ids = T.arange(query_size, dtype=T.long, device=query_layer.device)
        k_ids = T.arange(key_size, dtype=T.long, device=key_layer.device)
        rel_pos_ids = q_ids[:, None] - k_ids[None, :]
        if bucket_size > 0 and max_position > 0:
            rel_pos_ids = make_log_bucket_position(rel_pos_ids, bucket_size, max_position)
        rel_pos_ids = rel_pos_ids.to(T.long)
        rel_pos_ids = rel_pos_ids[:query_size, :]
        rel_pos_ids = rel_pos_ids.unsqueeze(0)
        return rel_pos_ids
    class DisentangledSelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.num_attention_heads = H
            self.attention_head_size = D // H
            self.all_head_size = self.num_attention_heads * self.attention_head_size
            self.query_proj = nn.Linear(D, self.all_head_size, bias=True)
            self.key_proj = nn.Linear(D, self.all_head_size, bias=True)
            self.value_proj = nn.Linear(D, self.all_head_size, bias=True)
            self.share_att_key = True
            self.pos_att_type = ["p2c", "c2p"]
            self.relative_attention = True
            self.position_buckets = position_buckets
            self.max_relative_positions = max_relative_positions
            self.pos_ebd_size = self.position_buckets
            self.pos_dropout = nn.Dropout(0.0)
            self.dropout = nn.Dropout(0.0)
        def transpose_for_scores(self, x, attention_heads):
            new_x_shape = x.size()[:-1] + (attention_heads, -1)
            x = x.view(new_x_shape)
            return x.permute(0, 2, 1, 3).contiguous().view(-1, x.size(1), x.size(-1))
        def forward(self, hidden_states, attention_mask, relative_pos=None, rel_embeddings=None):
            query_states = hidden_states
            query_layer = self.transpose_for_scores(self.query_proj(query_states), self.num_attention_heads)
            key_layer = self.transpose_for_scores(self.key_proj(hidden_states), self.num_attention_heads)
            value_layer = self.transpose_for_scores(self.value_proj(hidden_states), self.num_attention_heads)
            rel_att = None
            scale_factor = 1
            if "c2p" in self.pos_att_type:
                scale_factor += 1
            if "p2c" in self.pos_att_type:
                scale_factor += 1
            scale = T.sqrt(T.tensor(query_layer.size(-1), dtype=T.float) * scale_factor)
            attention_scores = T.bmm(query_layer, key_layer.transpose(-1, -2) / scale.to(dtype=query_layer.dtype))
            if self.relative_attention:
                rel_embeddings = self.pos_dropout(rel_embeddings)
                rel_att = self.disentangled_attention_bias(query_layer, key_layer, relative_pos, rel_embeddings,
                                                           scale_factor)
            if rel_att is not None:
                attention_scores = attention_scores + rel_att
            attention_scores = attention_scores.view(-1, self.num_attention_heads, attention_scores.size(-2),
                                                     attention_scores.size(-1))
            attention_mask = attention_mask.bool()
            attention_scores = attention_scores.masked_fill(~(attention_mask), T.finfo(query_layer.dtype).min)
            attention_probs = nn.functional.softmax(attention_scores, dim=-1)
            attention_probs = self.dropout(attention_probs)
            context_layer = T.bmm(attention_probs.view(-1, attention_probs.size(-2), attention_probs.size(-1)),
                                  value_layer)
            context_layer = (context_layer.view(-1, self.num_attention_heads, context_layer.size(-2),
                                                context_layer.size(-1)).permute(0, 2, 1, 3).contiguous())
            new_context_layer_shape = context_layer.size()[:-2] + (-1,)
            context_layer = context_layer.view(new_context_layer_shape)
            return context_layer, attention_probs
        def disentangled_attention_bias(self, query_layer, key_layer, relative_pos, rel_embeddings, scale_factor):
            if relative_pos is None:
                relative_pos = build_relative_position(query_layer, key_layer, bucket_size=self.position_buckets,
                                                       max_position=self.max_relative_positions)
            if relative_pos.dim() == 2:
                relative_pos = relative_pos.unsqueeze(0).unsqueeze(0)
            elif relative_pos.dim() == 3:
                relative_pos = relative_pos.unsqueeze(1)
            att_span = self.pos_ebd_size
            relative_pos = relative_pos.to(device=query_layer.device, dtype=T.long)
            rel_embeddings = rel_embeddings[0: att_span * 2, :].unsqueeze(0)
            pos_query_layer = self.transpose_for_scores(self.query_proj(rel_embeddings), self.num_attention_heads
                                                        ).repeat(query_layer.size(0) // self.num_attention_heads, 1, 1)
            pos_key_layer = self.transpose_for_scores(self.key_proj(rel_embeddings), self.num_attention_heads
                                                      ).repeat(query_layer.size(0) // self.num_attention_heads, 1, 1)
            score = 0
            if "c2p" in self.pos_att_type:
                scale = T.sqrt(T.tensor(pos_key_layer.size(-1), dtype=T.float) * scale_factor)
                c2p_att = T.bmm(query_layer, pos_key_layer.transpose(-1, -2))
                c2p_pos = T.clamp(relative_pos + att_span, 0, att_span * 2 - 1)
                c2p_att = T.gather(c2p_att, dim=-1, index=c2p_pos.squeeze(0).expand(
                    [query_layer.size(0), query_layer.size(1), relative_pos.size(-1)]))
                score += c2p_att / scale.to(dtype=c2p_att.dtype)
            if "p2c" in self.pos_att_type:
                scale = T.sqrt(T.tensor(pos_query_layer.size(-1), dtype=T.float) * scale_factor)
                r_pos = relative_pos
                p2c_pos = T.clamp(-r_pos + att_span, 0, att_span * 2 - 1)
                p2c_att = T.bmm(key_layer, pos_query_layer.transpose(-1, -2))
                p2c_att = T.gather(p2c_att, dim=-1, index=p2c_pos.squeeze(0).expand(
                    [query_layer.size(0), key_layer.size(-2), key_layer.size(-2)])).transpose(-1, -2)
                score += p2c_att / scale.to(dtype=p2c_att.dtype)
            return score
    class DebertaV2Layer(nn.Module):
        def __init__(self):
            super().__init__()
            self.self = DisentangledSelfAttention()
            self.attn_dense, self.attn_ln = nn.Linear(D, D), nn.LayerNorm(D, eps=1e-7)
            self.intermediate, self.output = nn.Linear(D, I), nn.Linear(I, D)
            self.out_ln = nn.LayerNorm(D, eps=1e-7)
        def forward(self, hidden_states, attention_mask, relative_pos, rel_embeddings):
            ctx, probs = self.self(hidden_states, attention_mask, relative_pos=relative_pos,
                                   rel_embeddings=rel_embeddings)
            attention_output = self.attn_ln(self.attn_dense(ctx) + hidden_states)
            h = F.gelu(self.intermediate(attention_output))
            return self.out_ln(self.output(h) + attention_output), probs
    class DebertaV2ForSequenceClassification(nn.Module):
        def __init__(self):
            super().__init__()
            self.word_embeddings = nn.Embedding(V, D, padding_idx=0)
            self.emb_ln = nn.LayerNorm(D, eps=1e-7)
            self.layer = nn.ModuleList([DebertaV2Layer() for _ in range(L)])
            self.rel_embeddings = nn.Embedding(position_buckets * 2, D)
            self.rel_ln = nn.LayerNorm(D, eps=1e-7, elementwise_affine=True)
            self.pooler_dense = nn.Linear(D, D)
            self.classifier = nn.Linear(D, 3)
        def get_rel_embedding(self):
            return self.rel_ln(self.rel_embeddings.weight)
        def get_attention_mask(self, attention_mask):
            if attention_mask.dim() <= 2:
                extended_attention_mask = attention_mask.unsqueeze(1).unsqueeze(2)
                attention_mask = extended_attention_mask * extended_attention_mask.squeeze(-2).unsqueeze(-1)
            elif attention_mask.dim() == 3:
                attention_mask = attention_mask.unsqueeze(1)
            return attention_mask
        def get_rel_pos(self, hidden_states, query_states=None, relative_pos=None):
            if relative_pos is None:
                q = query_states if query_states is not None else hidden_states
                relative_pos = build_relative_position(q, hidden_states, bucket_size=position_buckets,
                                                       max_position=max_relative_positions)
            return relative_pos
        def forward(self, input_ids, attention_mask):
            embeddings = self.emb_ln(self.word_embeddings(input_ids))
            mask = attention_mask
            if mask.dim() != embeddings.dim():
                if mask.dim() == 4:
                    mask = mask.squeeze(1).squeeze(1)
                mask = mask.unsqueeze(2)
            mask = mask.to(embeddings.dtype)
            hidden = embeddings * mask
            ext = self.get_attention_mask(attention_mask)
            relative_pos = self.get_rel_pos(hidden)
            rel_embeddings = self.get_rel_embedding()
            all_probs = []
            for layer_module in self.layer:
                hidden, probs = layer_module(hidden, ext, relative_pos, rel_embeddings)
                all_probs.append(probs)
            pooled = F.gelu(self.pooler_dense(hidden[:, 0]))
            return self.classifier(pooled), all_probs, relative_pos
    model = DebertaV2ForSequenceClassification()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.01)
    out = []
    for ids, mask, y in batches:
        logits, probs, relative_pos = model(T.tensor(ids), T.tensor(mask))
        loss = F.cross_entropy(logits, T.tensor(y))
        optimizer.zero_grad()
        loss.backward()
        out += [logits, probs, relative_pos, loss, _grads(model)]
        optimizer.step()
    out.append(model.state_dict())
    return out


def test_deberta_v2_disentangled_attention_log_buckets(torch):
    rng = _rng(12)
    sd = deberta_v2(torch, None, None)
    batches = []
    for _ in range(3):
        ids = rng.integers(1, 17, (3, 9))
        mask = np.ones((3, 9), dtype=np.int64)
        mask[2, 6:] = 0
        ids[mask == 0] = 0
        batches.append((ids, mask, rng.integers(0, 3, 3)))
    _compare(deberta_v2(tg, sd, batches), deberta_v2(torch, sd, batches))


# ------------------------------------------------------------------------------------------------------- Reformer
def reformer_lsh(T, sd, batches, rotations):
    """lucidrains/reformer-pytorch's LSHAttention (shared query-key, causal, n_hashes rounds): hash_vectors by
    random rotations (given here, torch.randn there) with cat([r, -r]).argmax, bucket offsets; sort_key_val and the
    undo sort by sort, batched_index_select by gather of an expanded index, chunks with look_one_back, keys
    F.normalize'd, the causal / self / other-bucket masks by masked_fill_ in place (max_neg_value,
    TOKEN_SELF_ATTN_VALUE), softmax by logsumexp, the hash rounds combined by their logsumexp weights; in a tiny
    LM (LSHSelfAttention's toqk / tov / to_out, pre-LN, a feed-forward) trained with Adam."""
    nn, F = T.nn, T.nn.functional
    TOKEN_SELF_ATTN_VALUE = -5e4
    V, D, S, n_hashes, bucket_size, heads = 11, 8, 8, 2, 2, 2
    def max_neg_value(tensor):
        return -T.finfo(tensor.dtype).max
    def sort_key_val(t1, t2, dim=-1):
        values, indices = t1.sort(dim=dim)
        t2 = t2.expand_as(t1)
        return values, t2.gather(dim, indices)
    def batched_index_select(values, indices):
        last_dim = values.shape[-1]
        return values.gather(1, indices[:, :, None].expand(-1, -1, last_dim))
    class LSHAttention(nn.Module):
        def __init__(self, bucket_size=64, n_hashes=8, causal=False):
            super().__init__()
            self.dropout = nn.Dropout(0.0)
            self.dropout_for_hash = nn.Dropout(0.0)
            self.causal = causal
            self.bucket_size = bucket_size
            self.n_hashes = n_hashes
            self._attend_across_buckets = False
            self.random_rotations = None
        def hash_vectors(self, n_buckets, vecs):
            batch_size = vecs.shape[0]
            assert n_buckets % 2 == 0
            rot_size = n_buckets
            rotations_shape = (1, vecs.shape[-1], self.n_hashes, rot_size // 2)
            random_rotations = self.random_rotations.reshape(rotations_shape).expand(batch_size, -1, -1, -1)
            dropped_vecs = self.dropout_for_hash(vecs)
            rotated_vecs = T.einsum('btf,bfhi->bhti', dropped_vecs, random_rotations)
            rotated_vecs = T.cat([rotated_vecs, -rotated_vecs], dim=-1)
            buckets = T.argmax(rotated_vecs, dim=-1)
            offsets = T.arange(self.n_hashes, device=vecs.device)
            offsets = T.reshape(offsets * n_buckets, (1, -1, 1))
            buckets = T.reshape(buckets + offsets, (batch_size, -1,))
            return buckets
        def forward(self, qk, v):
            batch_size, seqlen, dim, device = *qk.shape, qk.device
            query_len = seqlen
            assert seqlen % (self.bucket_size * 2) == 0
            n_buckets = seqlen // self.bucket_size
            buckets = self.hash_vectors(n_buckets, qk)
            assert int(buckets.shape[1]) == self.n_hashes * seqlen
            total_hashes = self.n_hashes
            ticker = T.arange(total_hashes * seqlen, device=device).unsqueeze(0).expand_as(buckets)
            buckets_and_t = seqlen * buckets + (ticker % seqlen)
            buckets_and_t = buckets_and_t.detach()
            sbuckets_and_t, sticker = sort_key_val(buckets_and_t, ticker, dim=-1)
            _, undo_sort = sticker.sort(dim=-1)
            del ticker
            sbuckets_and_t = sbuckets_and_t.detach()
            sticker = sticker.detach()
            undo_sort = undo_sort.detach()
            st = (sticker % seqlen)
            sqk = batched_index_select(qk, st)
            sv = batched_index_select(v, st)
            chunk_size = total_hashes * n_buckets
            bq_t = bkv_t = T.reshape(st, (batch_size, chunk_size, -1))
            bqk = T.reshape(sqk, (batch_size, chunk_size, -1, dim))
            bv = T.reshape(sv, (batch_size, chunk_size, -1, dim))
            bq = bqk
            bk = F.normalize(bqk, p=2, dim=-1).type_as(bq)
            def look_one_back(x):
                x_extra = T.cat([x[:, -1:, ...], x[:, :-1, ...]], dim=1)
                return T.cat([x, x_extra], dim=2)
            bk = look_one_back(bk)
            bv = look_one_back(bv)
            bkv_t = look_one_back(bkv_t)
            dots = T.einsum('bhie,bhje->bhij', bq, bk) * (dim ** -0.5)
            masked_value = max_neg_value(dots)
            if self.causal:
                mask = bq_t[:, :, :, None] < bkv_t[:, :, None, :]
                if seqlen > query_len:
                    mask = mask & (bkv_t[:, :, None, :] < query_len)
                dots.masked_fill_(mask, masked_value)
                del mask
            self_mask = bq_t[:, :, :, None] == bkv_t[:, :, None, :]
            dots.masked_fill_(self_mask, TOKEN_SELF_ATTN_VALUE)
            del self_mask
            if not self._attend_across_buckets:
                bq_buckets = bkv_buckets = T.reshape(sbuckets_and_t // seqlen, (batch_size, chunk_size, -1))
                bkv_buckets = look_one_back(bkv_buckets)
                bucket_mask = bq_buckets[:, :, :, None] != bkv_buckets[:, :, None, :]
                dots.masked_fill_(bucket_mask, masked_value)
                del bucket_mask
            dots_logsumexp = T.logsumexp(dots, dim=-1, keepdim=True)
            dots = T.exp(dots - dots_logsumexp).type_as(dots)
            dropped_dots = self.dropout(dots)
            bo = T.einsum('buij,buje->buie', dropped_dots, bv)
            so = T.reshape(bo, (batch_size, -1, dim))
            slogits = T.reshape(dots_logsumexp, (batch_size, -1,))
            o = batched_index_select(so, undo_sort)
            logits = slogits.gather(1, undo_sort)
            o = T.reshape(o, (batch_size, total_hashes, seqlen, dim))
            logits = T.reshape(logits, (batch_size, total_hashes, seqlen, 1))
            probs = T.exp(logits - T.logsumexp(logits, dim=1, keepdim=True))
            out = T.sum(o * probs, dim=1)
            return out, buckets
    class LSHSelfAttention(nn.Module):
        def __init__(self, dim, heads=8, bucket_size=64, n_hashes=8, causal=False):
            super().__init__()
            self.dim, self.heads = dim, heads
            self.toqk = nn.Linear(dim, dim, bias=False)
            self.tov = nn.Linear(dim, dim, bias=False)
            self.to_out = nn.Linear(dim, dim)
            self.lsh_attn = LSHAttention(bucket_size=bucket_size, n_hashes=n_hashes, causal=causal)
        def forward(self, x):
            b, t, e, h = *x.shape, self.heads
            dim_head = e // h
            qk, v = self.toqk(x), self.tov(x)
            def merge_heads(v):
                return v.view(b, t, h, -1).transpose(1, 2)
            def split_heads(v):
                return v.view(b, h, t, -1).transpose(1, 2).contiguous()
            qk, v = (merge_heads(t_).reshape(b * h, t, -1) for t_ in (qk, v))
            out, buckets = self.lsh_attn(qk, v)
            out = split_heads(out.view(b, h, t, dim_head)).view(b, t, -1)
            return self.to_out(out), buckets
    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.pos = nn.Embedding(V, D), nn.Embedding(S, D)
            self.norm1, self.norm2, self.norm_out = nn.LayerNorm(D), nn.LayerNorm(D), nn.LayerNorm(D)
            self.attn = LSHSelfAttention(D, heads=heads, bucket_size=bucket_size, n_hashes=n_hashes, causal=True)
            self.ff = nn.Sequential(nn.Linear(D, 2 * D), nn.GELU(), nn.Linear(2 * D, D))
            self.out = nn.Linear(D, V)
        def forward(self, x):
            h = self.emb(x) + self.pos(T.arange(x.shape[1]))
            a, buckets = self.attn(self.norm1(h))
            h = h + a
            h = h + self.ff(self.norm2(h))
            return self.out(self.norm_out(h)), buckets
    model = LM()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.Adam(model.parameters(), lr=1e-2)
    out = []
    for ids, rot in zip(batches, rotations):
        model.attn.lsh_attn.random_rotations = T.tensor(rot)
        ids = T.tensor(ids)
        logits, buckets = model(ids[:, :-1])
        loss = F.cross_entropy(logits.transpose(1, 2), ids[:, 1:])
        optimizer.zero_grad()
        loss.backward()
        out += [logits, buckets, loss, _grads(model)]
        optimizer.step()
    out.append(model.state_dict())
    return out


def test_reformer_lsh_attention_sorted_buckets(torch):
    rng = _rng(13)
    sd = reformer_lsh(torch, None, None, None)
    batches = [rng.integers(0, 11, (2, 9)) for _ in range(3)]
    rotations = [rng.standard_normal((1, 4, 2, 2)) for _ in range(3)]
    _compare(reformer_lsh(tg, sd, batches, rotations), reformer_lsh(torch, sd, batches, rotations))


# ---------------------------------------------------------------------------------------------------------- SAINT
def saint_pretraining(T, sd, batches):
    """somepago/saint's self-supervised pretraining, tiny: embed_data_mask (categories_offset buffer, continuous
    features each through its own simple_MLP written into torch.empty by slice assignment, mask embeddings put in
    by boolean-mask assignment), the RowColTransformer (attention over columns, then intersample attention over the
    batch by reshaping (b, n, d) to (1, b, n d)), CutMix of the raw features by given permutations and corruption
    masks, mixup in embedding space with a given lambda, the contrastive loss (normalised features flattened,
    logits / nce_temp against arange targets, both directions), the denoising losses (per-column
    CrossEntropyLoss and MSELoss); AdamW."""
    nn, F = T.nn, T.nn.functional
    dim, heads, categories, num_continuous = 8, 2, (3, 4), 2
    nce_temp, lam0, lam2, lam3 = 0.7, 0.5, 1.0, 10.0
    class simple_MLP(nn.Module):
        def __init__(self, dims):
            super(simple_MLP, self).__init__()
            self.layers = nn.Sequential(nn.Linear(dims[0], dims[1]), nn.ReLU(), nn.Linear(dims[1], dims[2]))
        def forward(self, x):
            if len(x.shape) == 1:
                x = x.view(x.size(0), -1)
            return self.layers(x)
    class Attention(nn.Module):
        def __init__(self, dim, heads=8, dim_head=16):
            super().__init__()
            inner_dim = dim_head * heads
            self.heads = heads
            self.scale = dim_head ** -0.5
            self.to_qkv = nn.Linear(dim, inner_dim * 3, bias=False)
            self.to_out = nn.Linear(inner_dim, dim)
        def forward(self, x):
            h = self.heads
            q, k, v = self.to_qkv(x).chunk(3, dim=-1)
            q, k, v = map(lambda t: t.reshape(t.shape[0], t.shape[1], h, -1).permute(0, 2, 1, 3), (q, k, v))
            sim = T.einsum('b h i d, b h j d -> b h i j', q, k) * self.scale
            attn = sim.softmax(dim=-1)
            out = T.einsum('b h i j, b h j d -> b h i d', attn, v)
            out = out.permute(0, 2, 1, 3).reshape(out.shape[0], out.shape[2], -1)
            return self.to_out(out)
    class PreNormResidual(nn.Module):
        def __init__(self, dim, fn):
            super().__init__()
            self.norm, self.fn = nn.LayerNorm(dim), fn
        def forward(self, x):
            return self.fn(self.norm(x)) + x
    class GEGLU(nn.Module):
        def forward(self, x):
            x, gates = x.chunk(2, dim=-1)
            return x * F.gelu(gates)
    def FeedForward(dim, mult=2):
        return nn.Sequential(nn.Linear(dim, dim * mult * 2), GEGLU(), nn.Linear(dim * mult, dim))
    class RowColTransformer(nn.Module):
        def __init__(self, dim, nfeats, heads, dim_head):
            super().__init__()
            self.layers = nn.ModuleList([nn.ModuleList([
                PreNormResidual(dim, Attention(dim, heads=heads, dim_head=dim_head)),
                PreNormResidual(dim, FeedForward(dim)),
                PreNormResidual(dim * nfeats, Attention(dim * nfeats, heads=heads, dim_head=dim)),
                PreNormResidual(dim * nfeats, FeedForward(dim * nfeats))])])
        def forward(self, x, x_cont=None):
            if x_cont is not None:
                x = T.cat((x, x_cont), dim=1)
            _, n, _ = x.shape
            for attn1, ff1, attn2, ff2 in self.layers:
                x = attn1(x)
                x = ff1(x)
                b, n, d = x.shape
                x = x.reshape(1, b, n * d)
                x = attn2(x)
                x = ff2(x)
                x = x.reshape(b, n, d)
            return x
    class SAINT(nn.Module):
        def __init__(self):
            super().__init__()
            self.num_categories = len(categories) + 1  # (the CLS column)
            self.num_unique_categories = sum(categories) + 1
            self.num_continuous, self.dim = num_continuous, dim
            categories_offset = F.pad(T.tensor([1] + list(categories)), (1, 0), value=0)
            categories_offset = categories_offset.cumsum(dim=-1)[:-1]
            self.register_buffer('categories_offset', categories_offset)
            self.simple_MLP = nn.ModuleList([simple_MLP([1, 12, self.dim]) for _ in range(self.num_continuous)])
            nfeats = self.num_categories + num_continuous
            self.transformer = RowColTransformer(dim, nfeats, heads, 4)
            self.embeds = nn.Embedding(self.num_unique_categories, self.dim)
            self.mask_embeds_cat = nn.Embedding(self.num_categories * 2, self.dim)
            self.mask_embeds_cont = nn.Embedding(self.num_continuous * 2, self.dim)
            cat_mask_offset = F.pad(T.Tensor(self.num_categories).fill_(2).type(T.int8), (1, 0), value=0)
            self.register_buffer('cat_mask_offset', cat_mask_offset.cumsum(dim=-1)[:-1])
            con_mask_offset = F.pad(T.Tensor(self.num_continuous).fill_(2).type(T.int8), (1, 0), value=0)
            self.register_buffer('con_mask_offset', con_mask_offset.cumsum(dim=-1)[:-1])
            self.mlp1 = simple_MLP([dim, self.num_unique_categories // 2, self.num_unique_categories])
            self.mlp2 = nn.ModuleList([simple_MLP([dim, 6, 1]) for _ in range(self.num_continuous)])
            n = self.num_continuous + self.num_categories
            self.pt_mlp = simple_MLP([dim * n, 6 * dim * n // 5, dim * n // 2])
            self.pt_mlp2 = simple_MLP([dim * n, 6 * dim * n // 5, dim * n // 2])
        def forward(self, x_categ, x_cont):
            x = self.transformer(x_categ, x_cont)
            cat_outs = self.mlp1(x[:, :self.num_categories, :])
            con_outs = [mlp(x[:, self.num_categories + i, :]) for i, mlp in enumerate(self.mlp2)]
            return cat_outs, con_outs
    def embed_data_mask(x_categ, x_cont, cat_mask, con_mask, model):
        device = x_cont.device
        x_categ = x_categ + model.categories_offset.type_as(x_categ)
        x_categ_enc = model.embeds(x_categ)
        n1, n2 = x_cont.shape
        _, n3 = x_categ.shape
        x_cont_enc = T.empty(n1, n2, model.dim)
        for i in range(model.num_continuous):
            x_cont_enc[:, i, :] = model.simple_MLP[i](x_cont[:, i])
        x_cont_enc = x_cont_enc.to(device)
        cat_mask_temp = cat_mask + model.cat_mask_offset.type_as(cat_mask)
        con_mask_temp = con_mask + model.con_mask_offset.type_as(con_mask)
        cat_mask_temp = model.mask_embeds_cat(cat_mask_temp)
        con_mask_temp = model.mask_embeds_cont(con_mask_temp)
        x_categ_enc[cat_mask == 0] = cat_mask_temp[cat_mask == 0]
        x_cont_enc[con_mask == 0] = con_mask_temp[con_mask == 0]
        return x_categ, x_categ_enc, x_cont_enc
    def add_noise(x_categ, x_cont, perm, corr):
        x1 = x_categ[perm, :]
        x_categ_corr = x_categ.clone().detach()
        x_categ_corr[corr[0] == 0] = x1[corr[0] == 0]
        x2 = x_cont[perm, :]
        x_cont_corr = x_cont.clone().detach()
        x_cont_corr[corr[1] == 0] = x2[corr[1] == 0]
        return x_categ_corr, x_cont_corr
    def mixup_data(x1, x2, lam, index):
        mixed_x1 = lam * x1 + (1 - lam) * x1[index, :]
        mixed_x2 = lam * x2 + (1 - lam) * x2[index, :]
        return mixed_x1, mixed_x2
    model = SAINT()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.AdamW(model.parameters(), lr=3e-3)
    criterion1, criterion2 = nn.CrossEntropyLoss(), nn.MSELoss()
    out = []
    model.train()
    for x_categ, x_cont, cat_mask, con_mask, perm, corr, lam, index in batches:
        x_categ, x_cont = T.tensor(x_categ), T.tensor(x_cont)
        cat_mask, con_mask = T.tensor(cat_mask), T.tensor(con_mask)
        optimizer.zero_grad()
        x_categ_corr, x_cont_corr = add_noise(x_categ, x_cont, T.tensor(perm), [T.tensor(c) for c in corr])
        _, x_categ_enc_2, x_cont_enc_2 = embed_data_mask(x_categ_corr, x_cont_corr, cat_mask, con_mask, model)
        _, x_categ_enc, x_cont_enc = embed_data_mask(x_categ, x_cont, cat_mask, con_mask, model)
        x_categ_enc_2, x_cont_enc_2 = mixup_data(x_categ_enc_2, x_cont_enc_2, lam, T.tensor(index))
        aug_features_1 = model.transformer(x_categ_enc, x_cont_enc)
        aug_features_2 = model.transformer(x_categ_enc_2, x_cont_enc_2)
        aug_features_1 = (aug_features_1 / aug_features_1.norm(dim=-1, keepdim=True)).flatten(1, 2)
        aug_features_2 = (aug_features_2 / aug_features_2.norm(dim=-1, keepdim=True)).flatten(1, 2)
        aug_features_1 = model.pt_mlp(aug_features_1)
        aug_features_2 = model.pt_mlp2(aug_features_2)
        logits_per_aug1 = aug_features_1 @ aug_features_2.t() / nce_temp
        logits_per_aug2 = aug_features_2 @ aug_features_1.t() / nce_temp
        targets = T.arange(logits_per_aug1.size(0)).to(logits_per_aug1.device)
        loss_1 = criterion1(logits_per_aug1, targets)
        loss_2 = criterion1(logits_per_aug2, targets)
        loss = lam0 * (loss_1 + loss_2) / 2
        cat_outs, con_outs = model(x_categ_enc_2, x_cont_enc_2)
        con_outs = T.cat(con_outs, dim=1)
        l2 = criterion2(con_outs, x_cont)
        l1 = 0
        for j in range(len(categories) + 1):
            l1 += criterion1(cat_outs[:, j], x_categ[:, j] + model.categories_offset[j])
        loss += lam2 * l1 + lam3 * l2
        loss.backward()
        out += [loss, logits_per_aug1, _grads(model)]
        optimizer.step()
    out.append(model.state_dict())
    return out


def test_saint_contrastive_denoising_pretraining(torch):
    rng = _rng(14)
    sd = saint_pretraining(torch, None, None)
    batches = []
    for _ in range(3):
        b = 5
        x_categ = np.stack([np.zeros(b, np.int64), rng.integers(0, 3, b), rng.integers(0, 4, b)], 1)
        x_cont = rng.standard_normal((b, 2))
        cat_mask, con_mask = (rng.random((b, 3)) > 0.2).astype(np.int64), (rng.random((b, 2)) > 0.2).astype(np.int64)
        cat_mask[:, 0] = 1
        corr = [rng.integers(0, 2, (b, 3)), rng.integers(0, 2, (b, 2))]
        batches.append((x_categ, x_cont, cat_mask, con_mask, rng.permutation(b), corr, 0.7, rng.permutation(b)))
    _compare(saint_pretraining(tg, sd, batches), saint_pretraining(torch, sd, batches))
