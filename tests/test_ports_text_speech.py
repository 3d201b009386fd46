"""Classic text and speech sequence models, ported: each written once, as its authors wrote it against torch, as a
function of a module ``T`` (torch or tinygrad_rnn), run by both from the same initial weights (torch's, loaded into
ours) and data for a few steps in float64; losses, outputs, every parameter's gradient and the final weights agree
to ~1e-10. Skipped without torch.

Programs: allennlp's ELMo (character CNN with several filter widths and max-pooling, highway layers, the
LstmCellWithProjection bidirectional LM with memory-cell clamp_ and state clipping, residual connections between
layers, sorting by length and restoring, scalar mixes with and without masked layer norm, forward and backward LM
losses through one shared softmax); BiDAF (char CNN + word embeddings, highway, contextual BiLSTMs over packed
sequences with enforce_sorted=False, the trilinear similarity matrix, context-to-query and query-to-context
attention with masked softmax, modeling layer, start/end span losses and the span decoding by triu of the outer
product); PyTorch's "Translation with a Sequence to Sequence Network and Attention" tutorial (GRU encoder,
BahdanauAttention, AttnDecoderRNN, teacher forcing and greedy decoding, two optimizers); Listen, Attend and Spell
(pyramidal BiLSTMs, content attention, an LSTMCell speller, label smoothing); an RNN-Transducer (prediction and
joint networks, the lattice loss by logsumexp in two pure-torch forms, greedy search); ULMFiT's classifier
fine-tuning (discriminative learning rates, slanted triangular schedules by LambdaLR, gradual unfreezing, masked
concat pooling); OpenNMT-py's Luong NMT with input feeding (dot, general and concat scores); a CRF-free NER tagger
with char-LSTM word features (pack_sequence, sorting and unsorting); Real-Time-Voice-Cloning's GE2E speaker
encoder; Show, Attend and Tell (shrinking-batch decoding, beam search); bentrevett's convolutional seq2seq;
pytorch/examples' word LM with an adaptive softmax (salesforce's AWD-LSTM is in test_ports_rnn_research.py); r9y9's
Tacotron (CBHG, AttentionWrapper, greedy synthesis); coetaur0's ESIM; j-min's MoChA (monotonic chunkwise attention);
fatchord's WaveRNN (upsample network, RAW cross entropy and the mixture-of-logistics loss).
"""
import math
from importlib import import_module

import numpy as np
import pytest

import tinygrad_rnn as tg
from ports import compare as _compare, grads as _grads, load as _load, rng as _rng, state as _state


def _run(program, *data):
    """program(T, sd, *data) by tg and torch from torch's initial weights (program(torch, None) gives them)."""
    import torch
    sd = program(torch, None, *data)
    _compare(program(tg, sd, *data), program(torch, sd, *data))


# ------------------------------------------------------------------------------------------------------------- ELMo
def elmo(T, sd, chars, tokens):
    """allennlp's ELMo: _ElmoCharacterEncoder (char CNN, Highway, projection), ElmoLstm of
    LstmCellWithProjection (clipped memory and state, residual between layers, sort_batch_by_length), ScalarMix,
    and the bidirectional LanguageModel's loss (forward and backward targets, one _SoftmaxLoss); Adagrad."""
    nn, F = T.nn, T.nn.functional

    class Highway(nn.Module):
        def __init__(self, input_dim, num_layers=1, activation=F.relu):
            super().__init__()
            self._input_dim = input_dim
            self._layers = nn.ModuleList([nn.Linear(input_dim, input_dim * 2) for _ in range(num_layers)])
            self._activation = activation
            for layer in self._layers:
                layer.bias[input_dim:].data.fill_(1)

        def forward(self, inputs):
            current_input = inputs
            for layer in self._layers:
                projected_input = layer(current_input)
                linear_part = current_input
                nonlinear_part, gate = projected_input.chunk(2, dim=-1)
                nonlinear_part = self._activation(nonlinear_part)
                gate = T.sigmoid(gate)
                current_input = gate * linear_part + (1 - gate) * nonlinear_part
            return current_input

    class CharacterEncoder(nn.Module):
        def __init__(self, n_chars, char_dim, filters, n_highway, output_dim):
            super().__init__()
            self._char_embedding_weights = nn.Parameter(T.randn(n_chars, char_dim) * 0.5)
            self._convolutions = []
            for i, (width, num) in enumerate(filters):
                conv = nn.Conv1d(in_channels=char_dim, out_channels=num, kernel_size=width, bias=True)
                conv.weight.data.uniform_(-0.05, 0.05)
                conv.bias.data.fill_(0.0)
                self.add_module("char_conv_{}".format(i), conv)
                self._convolutions.append(conv)
            n_filters = sum(f[1] for f in filters)
            self._highways = Highway(n_filters, n_highway, activation=F.relu)
            self._projection = nn.Linear(n_filters, output_dim, bias=True)

        def forward(self, inputs):
            mask = ((inputs > 0).long().sum(dim=-1) > 0).long()
            character_embedding = F.embedding(inputs.view(-1, inputs.size(-1)), self._char_embedding_weights)
            character_embedding = T.transpose(character_embedding, 1, 2)
            convs = []
            for i in range(len(self._convolutions)):
                conv = getattr(self, "char_conv_{}".format(i))
                convolved = conv(character_embedding)
                convolved, _ = T.max(convolved, dim=-1)
                convolved = F.relu(convolved)
                convs.append(convolved)
            token_embedding = T.cat(convs, dim=-1)
            token_embedding = self._highways(token_embedding)
            token_embedding = self._projection(token_embedding)
            batch_size, sequence_length, _ = inputs.size()
            return {"mask": mask, "token_embedding": token_embedding.view(batch_size, sequence_length, -1)}

    class LstmCellWithProjection(nn.Module):
        def __init__(self, input_size, hidden_size, cell_size, go_forward=True, memory_cell_clip_value=None,
                     state_projection_clip_value=None):
            super().__init__()
            self.input_size, self.hidden_size, self.cell_size = input_size, hidden_size, cell_size
            self.go_forward = go_forward
            self.state_projection_clip_value = state_projection_clip_value
            self.memory_cell_clip_value = memory_cell_clip_value
            self.input_linearity = nn.Linear(input_size, 4 * cell_size, bias=False)
            self.state_linearity = nn.Linear(hidden_size, 4 * cell_size, bias=True)
            self.state_projection = nn.Linear(cell_size, hidden_size, bias=False)
            self.state_linearity.bias.data.fill_(0.0)
            self.state_linearity.bias.data[cell_size:2 * cell_size].fill_(1.0)  # forget gate bias

        def forward(self, inputs, batch_lengths, initial_state=None):
            batch_size, total_timesteps = inputs.size()[0], inputs.size()[1]
            output_accumulator = inputs.new_zeros(batch_size, total_timesteps, self.hidden_size)
            full_batch_previous_memory = inputs.new_zeros(batch_size, self.cell_size)
            full_batch_previous_state = inputs.new_zeros(batch_size, self.hidden_size)
            current_length_index = batch_size - 1 if self.go_forward else 0
            cs = self.cell_size
            for timestep in range(total_timesteps):
                index = timestep if self.go_forward else total_timesteps - timestep - 1
                if self.go_forward:
                    while batch_lengths[current_length_index] <= index:
                        current_length_index -= 1
                else:
                    while (current_length_index < (len(batch_lengths) - 1)
                           and batch_lengths[current_length_index + 1] > index):
                        current_length_index += 1
                previous_memory = full_batch_previous_memory[0: current_length_index + 1].clone()
                previous_state = full_batch_previous_state[0: current_length_index + 1].clone()
                timestep_input = inputs[0: current_length_index + 1, index]
                projected_input = self.input_linearity(timestep_input)
                projected_state = self.state_linearity(previous_state)
                input_gate = T.sigmoid(projected_input[:, 0 * cs:1 * cs] + projected_state[:, 0 * cs:1 * cs])
                forget_gate = T.sigmoid(projected_input[:, 1 * cs:2 * cs] + projected_state[:, 1 * cs:2 * cs])
                memory_init = T.tanh(projected_input[:, 2 * cs:3 * cs] + projected_state[:, 2 * cs:3 * cs])
                output_gate = T.sigmoid(projected_input[:, 3 * cs:4 * cs] + projected_state[:, 3 * cs:4 * cs])
                memory = input_gate * memory_init + forget_gate * previous_memory
                if self.memory_cell_clip_value:
                    memory.clamp_(-self.memory_cell_clip_value, self.memory_cell_clip_value)
                pre_projection_timestep_output = output_gate * T.tanh(memory)
                timestep_output = self.state_projection(pre_projection_timestep_output)
                if self.state_projection_clip_value:
                    timestep_output = T.clamp(timestep_output, -self.state_projection_clip_value,
                                              self.state_projection_clip_value)
                full_batch_previous_memory = full_batch_previous_memory.clone()
                full_batch_previous_state = full_batch_previous_state.clone()
                full_batch_previous_memory[0:current_length_index + 1] = memory
                full_batch_previous_state[0:current_length_index + 1] = timestep_output
                output_accumulator[0:current_length_index + 1, index] = timestep_output
            final_state = (full_batch_previous_state.unsqueeze(0), full_batch_previous_memory.unsqueeze(0))
            return output_accumulator, final_state

    def sort_batch_by_length(tensor, sequence_lengths):
        sorted_sequence_lengths, permutation_index = sequence_lengths.sort(0, descending=True)
        sorted_tensor = tensor.index_select(0, permutation_index)
        index_range = T.arange(0, len(sequence_lengths), device=sequence_lengths.device)
        _, reverse_mapping = permutation_index.sort(0, descending=False)
        restoration_indices = index_range.index_select(0, reverse_mapping)
        return sorted_tensor, sorted_sequence_lengths, restoration_indices, permutation_index

    class ElmoLstm(nn.Module):
        def __init__(self, input_size, hidden_size, cell_size, num_layers, memory_cell_clip_value,
                     state_projection_clip_value):
            super().__init__()
            self.num_layers = num_layers
            forward_layers, backward_layers = [], []
            lstm_input_size = input_size
            go_forward = True
            for layer_index in range(num_layers):
                forward_layer = LstmCellWithProjection(lstm_input_size, hidden_size, cell_size, go_forward,
                                                       memory_cell_clip_value, state_projection_clip_value)
                backward_layer = LstmCellWithProjection(lstm_input_size, hidden_size, cell_size, not go_forward,
                                                        memory_cell_clip_value, state_projection_clip_value)
                lstm_input_size = hidden_size
                self.add_module("forward_layer_{}".format(layer_index), forward_layer)
                self.add_module("backward_layer_{}".format(layer_index), backward_layer)
                forward_layers.append(forward_layer)
                backward_layers.append(backward_layer)
            self.forward_layers, self.backward_layers = forward_layers, backward_layers

        def _lstm_forward(self, inputs, batch_lengths):
            forward_output_sequence = inputs
            backward_output_sequence = inputs
            sequence_outputs = []
            for layer_index in range(len(self.forward_layers)):
                forward_layer = getattr(self, "forward_layer_{}".format(layer_index))
                backward_layer = getattr(self, "backward_layer_{}".format(layer_index))
                forward_cache = forward_output_sequence
                backward_cache = backward_output_sequence
                forward_output_sequence, _ = forward_layer(forward_output_sequence, batch_lengths)
                backward_output_sequence, _ = backward_layer(backward_output_sequence, batch_lengths)
                if layer_index != 0:
                    forward_output_sequence += forward_cache
                    backward_output_sequence += backward_cache
                sequence_outputs.append(T.cat([forward_output_sequence, backward_output_sequence], -1))
            return T.stack(sequence_outputs)

        def forward(self, inputs, mask):
            sequence_lengths = mask.sum(-1)
            sorted_inputs, sorted_lengths, restoration_indices, _ = sort_batch_by_length(inputs, sequence_lengths)
            stacked = self._lstm_forward(sorted_inputs, sorted_lengths.tolist())
            return stacked.index_select(1, restoration_indices)

    class ScalarMix(nn.Module):
        def __init__(self, mixture_size, do_layer_norm=False, initial_scalar_parameters=None):
            super().__init__()
            self.mixture_size = mixture_size
            self.do_layer_norm = do_layer_norm
            if initial_scalar_parameters is None:
                initial_scalar_parameters = [0.0] * mixture_size
            self.scalar_parameters = nn.ParameterList(
                [nn.Parameter(T.tensor([initial_scalar_parameters[i]])) for i in range(mixture_size)])
            self.gamma = nn.Parameter(T.tensor([1.0]))

        def forward(self, tensors, mask=None):
            def _do_layer_norm(tensor, broadcast_mask, num_elements_not_masked):
                tensor_masked = tensor * broadcast_mask
                mean = T.sum(tensor_masked) / num_elements_not_masked
                variance = T.sum(((tensor_masked - mean) * broadcast_mask) ** 2) / num_elements_not_masked
                return (tensor - mean) / T.sqrt(variance + 1e-13)

            normed_weights = F.softmax(T.cat([parameter for parameter in self.scalar_parameters]), dim=0)
            normed_weights = T.split(normed_weights, split_size_or_sections=1)
            pieces = []
            if not self.do_layer_norm:
                for weight, tensor in zip(normed_weights, tensors):
                    pieces.append(weight * tensor)
                return self.gamma * sum(pieces)
            broadcast_mask = mask.unsqueeze(-1)
            input_dim = tensors[0].size(-1)
            num_elements_not_masked = T.sum(mask) * input_dim
            for weight, tensor in zip(normed_weights, tensors):
                pieces.append(weight * _do_layer_norm(tensor, broadcast_mask, num_elements_not_masked))
            return self.gamma * sum(pieces)

    class SoftmaxLoss(nn.Module):
        def __init__(self, num_words, embedding_dim):
            super().__init__()
            self.softmax_w = nn.Parameter(T.randn(embedding_dim, num_words) / np.sqrt(embedding_dim))
            self.softmax_b = nn.Parameter(T.zeros(num_words))

        def forward(self, embeddings, targets):
            probs = F.log_softmax(T.matmul(embeddings, self.softmax_w) + self.softmax_b, dim=-1)
            return F.nll_loss(probs, targets.long(), reduction="sum")

    class BiLM(nn.Module):
        def __init__(self):
            super().__init__()
            self._token_embedder = CharacterEncoder(12, 4, [[1, 4], [2, 5], [3, 6]], 2, 6)
            self._elmo_lstm = ElmoLstm(6, 6, 8, 2, memory_cell_clip_value=0.1, state_projection_clip_value=0.03)
            self._scalar_mixes = nn.ModuleList([ScalarMix(3, initial_scalar_parameters=[0.1, -0.2, 0.3]),
                                                ScalarMix(3, do_layer_norm=True)])
            self._softmax_loss = SoftmaxLoss(num_words=9, embedding_dim=6)
            self._dropout = nn.Dropout(p=0.0)

        def forward(self, character_ids, token_ids):
            token_embedding = self._token_embedder(character_ids)
            mask = token_embedding["mask"]
            type_representation = token_embedding["token_embedding"]
            lstm_outputs = self._elmo_lstm(type_representation, mask)
            layer0 = T.cat([type_representation, type_representation], dim=-1) * mask.unsqueeze(-1)
            layer_activations = [layer0] + [lstm_outputs[i] for i in range(lstm_outputs.size(0))]
            representations = [self._dropout(mix(layer_activations, mask)) for mix in self._scalar_mixes]
            # the language model's loss on the top layer
            forward_embeddings, backward_embeddings = lstm_outputs[-1].chunk(2, -1)
            forward_targets = T.zeros_like(token_ids)
            forward_targets[:, 0:-1] = token_ids[:, 1:]
            backward_targets = T.zeros_like(token_ids)
            backward_targets[:, 1:] = token_ids[:, 0:-1]
            losses = []
            for embedding, targets in ((forward_embeddings, forward_targets),
                                       (backward_embeddings, backward_targets)):
                tmask = targets > 0
                non_masked_targets = targets.masked_select(tmask) - 1
                non_masked_embeddings = embedding.masked_select(tmask.unsqueeze(-1)).view(-1, 6)
                losses.append(self._softmax_loss(non_masked_embeddings, non_masked_targets))
            num_targets = T.sum((forward_targets > 0).long())
            average_loss = 0.5 * (losses[0] + losses[1]) / num_targets.float()
            return average_loss, representations

    model = BiLM()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.Adagrad(model.parameters(), lr=0.2, initial_accumulator_value=0.1)
    out = []
    for c, t in zip(chars, tokens):
        optimizer.zero_grad()
        loss, reps = model(T.tensor(c), T.tensor(t))
        loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        out += [loss, reps, norm, _grads(model)]
    out.append(model.state_dict())
    return out


def _elmo_batch(rng, lengths, n_chars=12, max_chars=5, vocab=9):
    chars = np.zeros((len(lengths), max(lengths), max_chars), dtype=np.int64)
    tokens = np.zeros((len(lengths), max(lengths)), dtype=np.int64)
    for b, n in enumerate(lengths):
        for t in range(n):
            k = rng.integers(1, max_chars + 1)
            chars[b, t, :k] = rng.integers(1, n_chars, k)
        tokens[b, :n] = rng.integers(1, vocab + 1, n)
    return chars, tokens


def test_elmo_char_cnn_highway_clipped_bilm_scalar_mix(torch):
    rng = _rng(0)
    batches = [_elmo_batch(rng, lens) for lens in ([3, 5, 4], [4, 2, 5], [5, 3, 1])]
    _run(elmo, [b[0] for b in batches], [b[1] for b in batches])


# ------------------------------------------------------------------------------------------------------------ BiDAF
def bidaf(T, sd, batches):
    """BiDAF as galsang/BiDAF-pytorch embeds characters (Conv2d over (char_dim, width), max_pool1d) and
    chrischute/squad writes the rest: HighwayEncoder, RNNEncoder (here the contextual one packs with
    enforce_sorted=False, the modeling and output ones sort, pack and unsort), the trilinear similarity matrix,
    masked_softmax (mask * logits + (1 - mask) * -1e30), the paper's query-to-context attention (max over a
    -inf-filled similarity), BiDAFOutput's log-softmaxes, NLL start/end losses, Adadelta, and util.discretize."""
    nn, F = T.nn, T.nn.functional
    pack_padded_sequence, pad_packed_sequence = nn.utils.rnn.pack_padded_sequence, nn.utils.rnn.pad_packed_sequence

    def masked_softmax(logits, mask, dim=-1, log_softmax=False):
        mask = mask.type(T.float32)
        masked_logits = mask * logits + (1 - mask) * -1e30
        softmax_fn = F.log_softmax if log_softmax else F.softmax
        return softmax_fn(masked_logits, dim)

    class HighwayEncoder(nn.Module):
        def __init__(self, num_layers, hidden_size):
            super(HighwayEncoder, self).__init__()
            self.transforms = nn.ModuleList([nn.Linear(hidden_size, hidden_size) for _ in range(num_layers)])
            self.gates = nn.ModuleList([nn.Linear(hidden_size, hidden_size) for _ in range(num_layers)])

        def forward(self, x):
            for gate, transform in zip(self.gates, self.transforms):
                g = T.sigmoid(gate(x))
                t = F.relu(transform(x))
                x = g * t + (1 - g) * x
            return x

    class Embedding(nn.Module):
        def __init__(self, word_vectors, char_vocab, char_dim, char_channel_size, char_channel_width, hidden_size):
            super(Embedding, self).__init__()
            self.char_dim, self.char_channel_size = char_dim, char_channel_size
            self.char_emb = nn.Embedding(char_vocab, char_dim, padding_idx=1)
            nn.init.uniform_(self.char_emb.weight, -0.5, 0.5)
            self.char_conv = nn.Sequential(nn.Conv2d(1, char_channel_size, (char_dim, char_channel_width)),
                                           nn.ReLU())
            self.embed = nn.Embedding.from_pretrained(word_vectors, freeze=True)
            self.proj = nn.Linear(word_vectors.size(1), hidden_size * 2 - char_channel_size, bias=False)
            self.hwy = HighwayEncoder(2, hidden_size * 2)

        def char_emb_layer(self, x):
            batch_size = x.size(0)
            x = self.char_emb(x)
            x = x.view(-1, self.char_dim, x.size(2)).unsqueeze(1)
            x = self.char_conv(x).squeeze()
            x = F.max_pool1d(x, x.size(2)).squeeze()
            x = x.view(batch_size, -1, self.char_channel_size)
            return x

        def forward(self, w, c):
            emb = self.proj(self.embed(w))
            return self.hwy(T.cat([self.char_emb_layer(c), emb], dim=-1))

    class RNNEncoder(nn.Module):
        def __init__(self, input_size, hidden_size, num_layers, drop_prob=0., enforce_sorted=True):
            super(RNNEncoder, self).__init__()
            self.drop_prob, self.enforce_sorted = drop_prob, enforce_sorted
            self.rnn = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True, bidirectional=True,
                               dropout=drop_prob if num_layers > 1 else 0.)

        def forward(self, x, lengths):
            orig_len = x.size(1)
            if not self.enforce_sorted:
                x = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
                x, _ = self.rnn(x)
                x, _ = pad_packed_sequence(x, batch_first=True, total_length=orig_len)
            else:
                lengths, sort_idx = lengths.sort(0, descending=True)
                x = x[sort_idx]
                x = pack_padded_sequence(x, lengths.cpu(), batch_first=True)
                x, _ = self.rnn(x)
                x, _ = pad_packed_sequence(x, batch_first=True, total_length=orig_len)
                _, unsort_idx = sort_idx.sort(0)
                x = x[unsort_idx]
            return F.dropout(x, self.drop_prob, self.training)

    class BiDAFAttention(nn.Module):
        def __init__(self, hidden_size, drop_prob=0.1):
            super(BiDAFAttention, self).__init__()
            self.drop_prob = drop_prob
            self.c_weight = nn.Parameter(T.zeros(hidden_size, 1))
            self.q_weight = nn.Parameter(T.zeros(hidden_size, 1))
            self.cq_weight = nn.Parameter(T.zeros(1, 1, hidden_size))
            for weight in (self.c_weight, self.q_weight, self.cq_weight):
                nn.init.xavier_uniform_(weight)
            self.bias = nn.Parameter(T.zeros(1))

        def forward(self, c, q, c_mask, q_mask):
            batch_size, c_len, _ = c.size()
            q_len = q.size(1)
            s = self.get_similarity_matrix(c, q)
            c_mask = c_mask.view(batch_size, c_len, 1)
            q_mask = q_mask.view(batch_size, 1, q_len)
            s1 = masked_softmax(s, q_mask, dim=2)
            a = T.bmm(s1, q)
            # the paper's query-to-context attention: the most similar query word of each context word
            s_max = T.max(s.masked_fill(~q_mask, float("-inf")), dim=2)[0]
            b = masked_softmax(s_max, c_mask.squeeze(-1), dim=1).unsqueeze(1)
            q2c_att = T.bmm(b, c).expand(-1, c_len, -1)
            return T.cat([c, a, c * a, c * q2c_att], dim=2)

        def get_similarity_matrix(self, c, q):
            c_len, q_len = c.size(1), q.size(1)
            c = F.dropout(c, self.drop_prob, self.training)
            q = F.dropout(q, self.drop_prob, self.training)
            s0 = T.matmul(c, self.c_weight).expand([-1, -1, q_len])
            s1 = T.matmul(q, self.q_weight).transpose(1, 2).expand([-1, c_len, -1])
            s2 = T.matmul(c * self.cq_weight, q.transpose(1, 2))
            return s0 + s1 + s2 + self.bias

    class BiDAFOutput(nn.Module):
        def __init__(self, hidden_size, drop_prob):
            super(BiDAFOutput, self).__init__()
            self.att_linear_1 = nn.Linear(8 * hidden_size, 1)
            self.mod_linear_1 = nn.Linear(2 * hidden_size, 1)
            self.rnn = RNNEncoder(input_size=2 * hidden_size, hidden_size=hidden_size, num_layers=1,
                                  drop_prob=drop_prob)
            self.att_linear_2 = nn.Linear(8 * hidden_size, 1)
            self.mod_linear_2 = nn.Linear(2 * hidden_size, 1)

        def forward(self, att, mod, mask):
            logits_1 = self.att_linear_1(att) + self.mod_linear_1(mod)
            mod_2 = self.rnn(mod, mask.sum(-1))
            logits_2 = self.att_linear_2(att) + self.mod_linear_2(mod_2)
            log_p1 = masked_softmax(logits_1.squeeze(), mask, log_softmax=True)
            log_p2 = masked_softmax(logits_2.squeeze(), mask, log_softmax=True)
            return log_p1, log_p2

    class BiDAF(nn.Module):
        def __init__(self, word_vectors, hidden_size, drop_prob=0.):
            super(BiDAF, self).__init__()
            self.emb = Embedding(word_vectors, 10, 3, 4, 2, hidden_size)
            self.enc = RNNEncoder(2 * hidden_size, hidden_size, 1, drop_prob, enforce_sorted=False)
            self.att = BiDAFAttention(hidden_size=2 * hidden_size, drop_prob=drop_prob)
            self.mod = RNNEncoder(input_size=8 * hidden_size, hidden_size=hidden_size, num_layers=2,
                                  drop_prob=drop_prob)
            self.out = BiDAFOutput(hidden_size=hidden_size, drop_prob=drop_prob)

        def forward(self, cw_idxs, cc_idxs, qw_idxs, qc_idxs):
            c_mask = T.zeros_like(cw_idxs) != cw_idxs
            q_mask = T.zeros_like(qw_idxs) != qw_idxs
            c_len, q_len = c_mask.sum(-1), q_mask.sum(-1)
            c_emb = self.emb(cw_idxs, cc_idxs)
            q_emb = self.emb(qw_idxs, qc_idxs)
            c_enc = self.enc(c_emb, c_len)
            q_enc = self.enc(q_emb, q_len)
            att = self.att(c_enc, q_enc, c_mask, q_mask)
            mod = self.mod(att, c_len)
            return self.out(att, mod, c_mask)

    def discretize(p_start, p_end, max_len=15, no_answer=False):
        c_len, device = p_start.size(1), p_start.device
        is_legal_pair = T.triu(T.ones((c_len, c_len), device=device))
        is_legal_pair -= T.triu(T.ones((c_len, c_len), device=device), diagonal=max_len)
        if no_answer:
            p_no_answer = p_start[:, 0] * p_end[:, 0]
            is_legal_pair[0, :] = 0
            is_legal_pair[:, 0] = 0
        p_joint = T.matmul(p_start.unsqueeze(dim=2), p_end.unsqueeze(dim=1))
        p_joint *= is_legal_pair
        max_in_row, _ = T.max(p_joint, dim=2)
        max_in_col, _ = T.max(p_joint, dim=1)
        start_idxs = T.argmax(max_in_row, dim=-1)
        end_idxs = T.argmax(max_in_col, dim=-1)
        if no_answer:
            max_prob, _ = T.max(max_in_col, dim=-1)
            start_idxs[p_no_answer > max_prob] = 0
            end_idxs[p_no_answer > max_prob] = 0
        return start_idxs, end_idxs

    word_vectors = T.tensor(_rng(5).standard_normal((15, 4)))
    model = BiDAF(word_vectors, hidden_size=4)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.Adadelta(model.parameters(), lr=0.5, weight_decay=0.001)
    out = []
    model.train()
    for cw, cc, qw, qc, y1, y2 in batches:
        cw, cc, qw, qc, y1, y2 = (T.tensor(a) for a in (cw, cc, qw, qc, y1, y2))
        optimizer.zero_grad()
        log_p1, log_p2 = model(cw, cc, qw, qc)
        loss = F.nll_loss(log_p1, y1) + F.nll_loss(log_p2, y2)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        out += [loss, log_p1, log_p2, _grads(model)]
        model.eval()
        with T.no_grad():
            p1, p2 = model(cw, cc, qw, qc)
            p1, p2 = p1.exp(), p2.exp()
            out += list(discretize(p1, p2, max_len=3, no_answer=True)) + list(discretize(p1, p2, max_len=4))
        model.train()
    out.append(model.state_dict())
    return out


def _bidaf_batch(rng, c_lens, q_lens, word_len=4):
    def words(lens):
        w = np.zeros((len(lens), max(lens)), dtype=np.int64)
        c = np.ones((len(lens), max(lens), word_len), dtype=np.int64)
        for b, n in enumerate(lens):
            w[b, :n] = rng.integers(1, 15, n)
            for t in range(n):
                k = rng.integers(1, word_len + 1)
                c[b, t, :k] = rng.integers(2, 10, k)
        return w, c
    cw, cc = words(c_lens)
    qw, qc = words(q_lens)
    y1 = np.array([rng.integers(0, n) for n in c_lens])
    y2 = np.array([rng.integers(s, n) for s, n in zip(y1, c_lens)])
    return cw, cc, qw, qc, y1, y2


def test_bidaf_packed_bilstms_masked_attention_and_span_decoding(torch):
    rng = _rng(1)
    _run(bidaf, [_bidaf_batch(rng, c, q) for c, q in (([7, 5, 6], [3, 4, 2]), ([4, 6, 3], [2, 2, 3]))])


# ----------------------------------------------------------------------------------- the seq2seq translation tutorial
def translation_tutorial(T, sd, pairs):
    """PyTorch's "NLP From Scratch: Translation with a Sequence to Sequence Network and Attention": EncoderRNN (GRU,
    batch_first), BahdanauAttention (Wa, Ua, Va), AttnDecoderRNN with teacher forcing and greedy decoding
    (topk(1), detach), LogSoftmax + NLLLoss, get_dataloader's int32 arrays through LongTensor, TensorDataset and a
    DataLoader, two Adam optimizers, train_epoch and evaluate."""
    nn, F, optim = T.nn, T.nn.functional, T.optim
    from_data = import_module(T.__name__ + ".utils.data")
    TensorDataset, DataLoader, SequentialSampler = (from_data.TensorDataset, from_data.DataLoader,
                                                    from_data.SequentialSampler)
    SOS_token, EOS_token, MAX_LENGTH = 0, 1, 6
    device = T.device("cpu")

    class EncoderRNN(nn.Module):
        def __init__(self, input_size, hidden_size, dropout_p=0.1):
            super(EncoderRNN, self).__init__()
            self.hidden_size = hidden_size
            self.embedding = nn.Embedding(input_size, hidden_size)
            self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
            self.dropout = nn.Dropout(dropout_p)

        def forward(self, input):
            embedded = self.dropout(self.embedding(input))
            output, hidden = self.gru(embedded)
            return output, hidden

    class BahdanauAttention(nn.Module):
        def __init__(self, hidden_size):
            super(BahdanauAttention, self).__init__()
            self.Wa = nn.Linear(hidden_size, hidden_size)
            self.Ua = nn.Linear(hidden_size, hidden_size)
            self.Va = nn.Linear(hidden_size, 1)

        def forward(self, query, keys):
            scores = self.Va(T.tanh(self.Wa(query) + self.Ua(keys)))
            scores = scores.squeeze(2).unsqueeze(1)
            weights = F.softmax(scores, dim=-1)
            context = T.bmm(weights, keys)
            return context, weights

    class AttnDecoderRNN(nn.Module):
        def __init__(self, hidden_size, output_size, dropout_p=0.1):
            super(AttnDecoderRNN, self).__init__()
            self.embedding = nn.Embedding(output_size, hidden_size)
            self.attention = BahdanauAttention(hidden_size)
            self.gru = nn.GRU(2 * hidden_size, hidden_size, batch_first=True)
            self.out = nn.Linear(hidden_size, output_size)
            self.dropout = nn.Dropout(dropout_p)

        def forward(self, encoder_outputs, encoder_hidden, target_tensor=None):
            batch_size = encoder_outputs.size(0)
            decoder_input = T.empty(batch_size, 1, dtype=T.long, device=device).fill_(SOS_token)
            decoder_hidden = encoder_hidden
            decoder_outputs = []
            attentions = []
            for i in range(MAX_LENGTH):
                decoder_output, decoder_hidden, attn_weights = self.forward_step(
                    decoder_input, decoder_hidden, encoder_outputs)
                decoder_outputs.append(decoder_output)
                attentions.append(attn_weights)
                if target_tensor is not None:
                    decoder_input = target_tensor[:, i].unsqueeze(1)  # Teacher forcing
                else:
                    _, topi = decoder_output.topk(1)
                    decoder_input = topi.squeeze(-1).detach()
            decoder_outputs = T.cat(decoder_outputs, dim=1)
            decoder_outputs = F.log_softmax(decoder_outputs, dim=-1)
            attentions = T.cat(attentions, dim=1)
            return decoder_outputs, decoder_hidden, attentions

        def forward_step(self, input, hidden, encoder_outputs):
            embedded = self.dropout(self.embedding(input))
            query = hidden.permute(1, 0, 2)
            context, attn_weights = self.attention(query, encoder_outputs)
            input_gru = T.cat((embedded, context), dim=2)
            output, hidden = self.gru(input_gru, hidden)
            output = self.out(output)
            return output, hidden, attn_weights

    def get_dataloader(batch_size):
        n = len(pairs)
        input_ids = np.zeros((n, MAX_LENGTH), dtype=np.int32)
        target_ids = np.zeros((n, MAX_LENGTH), dtype=np.int32)
        for idx, (inp_ids, tgt_ids) in enumerate(pairs):
            inp_ids, tgt_ids = list(inp_ids) + [EOS_token], list(tgt_ids) + [EOS_token]
            input_ids[idx, :len(inp_ids)] = inp_ids
            target_ids[idx, :len(tgt_ids)] = tgt_ids
        train_data = TensorDataset(T.LongTensor(input_ids).to(device), T.LongTensor(target_ids).to(device))
        train_sampler = SequentialSampler(train_data)  # (the tutorial's RandomSampler draws from each one's RNG)
        return DataLoader(train_data, sampler=train_sampler, batch_size=batch_size)

    def train_epoch(dataloader, encoder, decoder, encoder_optimizer, decoder_optimizer, criterion, record):
        total_loss = 0
        for data in dataloader:
            input_tensor, target_tensor = data
            encoder_optimizer.zero_grad()
            decoder_optimizer.zero_grad()
            encoder_outputs, encoder_hidden = encoder(input_tensor)
            decoder_outputs, _, _ = decoder(encoder_outputs, encoder_hidden, target_tensor)
            loss = criterion(decoder_outputs.view(-1, decoder_outputs.size(-1)), target_tensor.view(-1))
            loss.backward()
            record += [loss, _grads(encoder), _grads(decoder)]
            encoder_optimizer.step()
            decoder_optimizer.step()
            total_loss += loss.item()
        return total_loss / len(dataloader)

    def evaluate(encoder, decoder, input_tensor):
        with T.no_grad():
            encoder_outputs, encoder_hidden = encoder(input_tensor)
            decoder_outputs, decoder_hidden, decoder_attn = decoder(encoder_outputs, encoder_hidden)
            _, topi = decoder_outputs.topk(1)
            decoded_ids = topi.squeeze()
            decoded_words = []
            for row in decoded_ids:
                words = []
                for idx in row:
                    if idx.item() == EOS_token:
                        words.append('<EOS>')
                        break
                    words.append(idx.item())
                decoded_words.append(words)
        return decoded_words, decoder_outputs, decoder_attn

    hidden_size = 8
    encoder = EncoderRNN(11, hidden_size, dropout_p=0.0).to(device)
    decoder = AttnDecoderRNN(hidden_size, 10, dropout_p=0.0).to(device)
    if sd is None:
        return {"encoder": _state(encoder), "decoder": _state(decoder)}
    _load(T, encoder, sd["encoder"])
    _load(T, decoder, sd["decoder"])
    train_dataloader = get_dataloader(batch_size=3)
    encoder_optimizer = optim.Adam(encoder.parameters(), lr=0.01)
    decoder_optimizer = optim.Adam(decoder.parameters(), lr=0.01)
    criterion = nn.NLLLoss()
    out = []
    for epoch in range(1, 3):
        out.append(train_epoch(train_dataloader, encoder, decoder, encoder_optimizer, decoder_optimizer, criterion,
                               out))
    encoder.eval()
    decoder.eval()
    words, outputs, attn = evaluate(encoder, decoder, next(iter(train_dataloader))[0])
    out += [[[w if isinstance(w, int) else -1 for w in ws] + [-2] * (MAX_LENGTH - len(ws)) for ws in words],
            outputs, attn, encoder.state_dict(), decoder.state_dict()]
    return out


def test_seq2seq_translation_tutorial_bahdanau_attention(torch):
    rng = _rng(2)
    pairs = [(rng.integers(2, 11, rng.integers(2, 6)), rng.integers(2, 10, rng.integers(2, 6))) for _ in range(7)]
    _run(translation_tutorial, pairs)


# ----------------------------------------------------------------------------------------- Listen, Attend and Spell
def las(T, sd, batches, coins):
    """Listen, Attend and Spell as it is commonly written against torch: a BiLSTM then pyramidal BiLSTMs over
    PackedSequences (pad, drop an odd last frame, reshape pairs of frames into one, halve the lengths, pack again
    with enforce_sorted=False), key and value projections, location-unaware dot-product attention masked by the
    listener's lengths (masked_fill_ -1e9), a speller of two LSTMCells fed the previous character's embedding and
    the last context, tied output and embedding weights, teacher forcing by coin flips (given), and a
    label-smoothed cross entropy masked by target lengths beside the paper's hand-written smoothing; Adam."""
    nn, F = T.nn, T.nn.functional
    pack_padded_sequence, pad_packed_sequence = nn.utils.rnn.pack_padded_sequence, nn.utils.rnn.pad_packed_sequence
    SOS, EOS = 0, 1

    class pBLSTM(nn.Module):
        def __init__(self, input_dim, hidden_dim):
            super(pBLSTM, self).__init__()
            self.blstm = nn.LSTM(input_size=input_dim * 2, hidden_size=hidden_dim, num_layers=1,
                                 bidirectional=True, batch_first=True)

        def forward(self, x):
            x, lengths = pad_packed_sequence(x, batch_first=True)
            x = x[:, :(x.size(1) // 2) * 2, :]
            x = x.reshape(x.size(0), x.size(1) // 2, x.size(2) * 2)
            lengths = lengths // 2
            x = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            out, _ = self.blstm(x)
            return out

    class Listener(nn.Module):
        def __init__(self, input_dim, encoder_hidden_dim, key_value_size):
            super(Listener, self).__init__()
            self.lstm = nn.LSTM(input_dim, encoder_hidden_dim, num_layers=1, bidirectional=True, batch_first=True)
            self.pBLSTMs = nn.Sequential(pBLSTM(encoder_hidden_dim * 2, encoder_hidden_dim),
                                         pBLSTM(encoder_hidden_dim * 2, encoder_hidden_dim))
            self.key_network = nn.Linear(encoder_hidden_dim * 2, key_value_size)
            self.value_network = nn.Linear(encoder_hidden_dim * 2, key_value_size)

        def forward(self, x, x_len):
            packed = pack_padded_sequence(x, x_len, batch_first=True, enforce_sorted=False)
            out, _ = self.lstm(packed)
            out = self.pBLSTMs(out)
            out, lengths = pad_packed_sequence(out, batch_first=True)
            return self.key_network(out), self.value_network(out), lengths

    class Attention(nn.Module):
        def forward(self, query, key, value, mask):
            energy = T.bmm(key, query.unsqueeze(2)).squeeze(2)
            energy.masked_fill_(mask, -1e9)
            attention = F.softmax(energy, dim=1)
            context = T.bmm(attention.unsqueeze(1), value).squeeze(1)
            return context, attention

    class Speller(nn.Module):
        def __init__(self, vocab_size, decoder_hidden_dim, key_value_size):
            super(Speller, self).__init__()
            embed_dim = 2 * key_value_size
            self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=EOS)
            self.lstm1 = nn.LSTMCell(input_size=embed_dim + key_value_size, hidden_size=decoder_hidden_dim)
            self.lstm2 = nn.LSTMCell(input_size=decoder_hidden_dim, hidden_size=key_value_size)
            self.attention = Attention()
            self.character_prob = nn.Linear(2 * key_value_size, vocab_size)
            self.character_prob.weight = self.embedding.weight  # weight tying

        def forward(self, key, value, encoder_len, y=None, mode='train', coins=None, max_len=5):
            B, key_seq_max_len, key_value_size = key.shape
            if mode == 'train':
                max_len = y.shape[1]
                char_embeddings = self.embedding(y)
            mask = T.arange(key_seq_max_len).unsqueeze(0) >= encoder_len.unsqueeze(1)
            predictions, attention_plot = [], []
            prediction = T.full((B,), fill_value=SOS)
            hidden_states = [None, None]
            context = value[:, 0, :]
            for i in range(max_len):
                if i == 0:
                    char_embed = self.embedding(prediction)
                elif mode == 'train' and coins[i]:
                    char_embed = char_embeddings[:, i - 1, :]
                else:
                    char_embed = self.embedding(prediction.argmax(dim=-1))
                y_context = T.cat([char_embed, context], dim=1)
                hidden_states[0] = self.lstm1(y_context, hidden_states[0])
                hidden_states[1] = self.lstm2(hidden_states[0][0], hidden_states[1])
                output = hidden_states[1][0]
                context, attention = self.attention(output, key, value, mask)
                attention_plot.append(attention[0].detach().cpu())
                output_context = T.cat([output, context], dim=1)
                prediction = self.character_prob(output_context)
                predictions.append(prediction.unsqueeze(1))
            return T.cat(predictions, dim=1), T.stack(attention_plot, dim=0)

    class Seq2Seq(nn.Module):
        def __init__(self, input_dim, vocab_size, encoder_hidden_dim, decoder_hidden_dim, key_value_size):
            super(Seq2Seq, self).__init__()
            self.encoder = Listener(input_dim, encoder_hidden_dim, key_value_size)
            self.decoder = Speller(vocab_size, decoder_hidden_dim, key_value_size)

        def forward(self, x, x_len, y=None, mode='train', coins=None):
            key, value, encoder_len = self.encoder(x, x_len)
            return self.decoder(key, value, encoder_len, y=y, mode=mode, coins=coins)

    model = Seq2Seq(5, 8, 4, 6, 3)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.Adam(model.parameters(), lr=2e-3, weight_decay=5e-6)
    criterion = nn.CrossEntropyLoss(reduction='none', label_smoothing=0.1)
    out = []
    for (x, x_len, y, y_len), coin in zip(batches, coins):
        x, x_len, y, y_len = T.tensor(x), T.tensor(x_len), T.tensor(y), T.tensor(y_len)
        optimizer.zero_grad()
        predictions, attentions = model(x, x_len, y, mode='train', coins=coin)
        mask = T.arange(y.size(1)).unsqueeze(0) < y_len.unsqueeze(1)
        loss = (criterion(predictions.view(-1, predictions.size(2)), y.view(-1)) * mask.view(-1)).sum()
        loss = loss / mask.sum()
        # the paper's smoothing by hand: (1 - eps) * NLL + eps * the mean negative log-probability over classes
        log_probs = F.log_softmax(predictions, dim=-1)
        nll = -log_probs.gather(2, y.unsqueeze(2)).squeeze(2)
        by_hand = ((0.9 * nll - 0.1 * log_probs.mean(-1)) * mask).sum() / mask.sum()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 2.0)
        optimizer.step()
        out += [loss, by_hand, predictions, attentions, _grads(model)]
    model.eval()
    with T.no_grad():
        x, x_len = batches[0][:2]
        predictions, attentions = model(T.tensor(x), T.tensor(x_len), mode='eval')
    out += [predictions.argmax(-1), attentions, model.state_dict()]
    return out


def _las_batch(rng, x_lens, y_lens, n_mels=5, vocab=8):
    x = np.zeros((len(x_lens), max(x_lens), n_mels))
    y = np.full((len(y_lens), max(y_lens)), 1, dtype=np.int64)  # (<eos> pads)
    for b, (n, m) in enumerate(zip(x_lens, y_lens)):
        x[b, :n] = rng.standard_normal((n, n_mels))
        y[b, :m - 1] = rng.integers(2, vocab, m - 1)
    return x, np.array(x_lens), y, np.array(y_lens)


def test_listen_attend_spell_pyramidal_bilstm_label_smoothing(torch):
    rng = _rng(3)
    batches = [_las_batch(rng, xl, yl) for xl, yl in (([13, 9, 16], [4, 3, 5]), ([8, 12, 10], [5, 5, 2]))]
    coins = [rng.random(5) < 0.7 for _ in batches]
    _run(las, batches, coins)


# ------------------------------------------------------------------------------------------------------- RNN-T
def rnn_transducer(T, sd, batches):
    """An RNN-Transducer: LSTM encoder, a prediction network (embedding + LSTM fed blank-then-labels), the joint
    network (broadcast add of (B, T, 1, H) and (B, 1, U+1, H), tanh, linear), and the RNN-T loss written in torch
    twice: the alpha recursion over the (T, U) lattice as lists of per-cell tensors with logsumexp, and Loren
    Lugosch's transducer tutorial's in-place log_alpha[:, t, u] = ... lattice (the joiner per cell); and awni's
    reference transducer as a custom autograd.Function (alphas and betas written into views, the gradient by
    formula, once_differentiable); the losses' gradients with respect to the logits by autograd.grad, Adam, and the
    tutorial's greedy search."""
    nn, F = T.nn, T.nn.functional
    blank = 0

    class Encoder(nn.Module):
        def __init__(self, num_inputs, hidden, joiner_dim):
            super().__init__()
            self.rnn = nn.LSTM(num_inputs, hidden, num_layers=2, batch_first=True)
            self.linear = nn.Linear(hidden, joiner_dim)

        def forward(self, x):
            return self.linear(self.rnn(x)[0])

    class Predictor(nn.Module):
        def __init__(self, num_outputs, predictor_dim, joiner_dim):
            super().__init__()
            self.embed = nn.Embedding(num_outputs, predictor_dim)
            self.rnn = nn.LSTM(predictor_dim, predictor_dim, batch_first=True)
            self.linear = nn.Linear(predictor_dim, joiner_dim)

        def forward(self, y, state=None):
            out, state = self.rnn(self.embed(y), state)
            return self.linear(out), state

    class Joiner(nn.Module):
        def __init__(self, joiner_dim, num_outputs):
            super().__init__()
            self.linear = nn.Linear(joiner_dim, num_outputs)

        def forward(self, encoder_out, predictor_out):
            return self.linear(T.tanh(encoder_out + predictor_out))

    def rnnt_loss(logits, targets, logit_lengths, target_lengths, reduction="mean"):
        log_probs = logits.log_softmax(dim=-1)
        B, T_, U1, _ = log_probs.shape
        blank_lp = log_probs[:, :, :, blank]
        emit_lp = log_probs[:, :, :-1, :].gather(3, targets[:, None, :, None].expand(B, T_, U1 - 1, 1)).squeeze(3)
        alpha = [[None] * U1 for _ in range(T_)]
        for t in range(T_):
            for u in range(U1):
                if t == 0 and u == 0:
                    alpha[t][u] = log_probs.new_zeros(B)
                elif t == 0:
                    alpha[t][u] = alpha[t][u - 1] + emit_lp[:, t, u - 1]
                elif u == 0:
                    alpha[t][u] = alpha[t - 1][u] + blank_lp[:, t - 1, u]
                else:
                    alpha[t][u] = T.logsumexp(T.stack([alpha[t - 1][u] + blank_lp[:, t - 1, u],
                                                       alpha[t][u - 1] + emit_lp[:, t, u - 1]]), dim=0)
        alphas = T.stack([T.stack(row, dim=1) for row in alpha], dim=1)
        b = T.arange(B)
        log_likelihood = (alphas[b, logit_lengths - 1, target_lengths]
                          + blank_lp[b, logit_lengths - 1, target_lengths])
        loss = -log_likelihood
        return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss

    once_differentiable = import_module(T.__name__ + ".autograd.function").once_differentiable

    class _RNNT(T.autograd.Function):
        """awni/transducer's reference transducer (alphas, betas and the gradient of -log p with respect to the
        log-probabilities by formula) as a custom autograd.Function over a padded batch."""
        @staticmethod
        def forward(ctx, log_probs, labels, act_lens, label_lens):
            B = log_probs.size(0)
            alphas = T.zeros_like(log_probs[..., 0])
            betas = T.zeros_like(log_probs[..., 0])
            grads = T.full_like(log_probs, -float("inf"))
            costs = log_probs.new_zeros(B)
            for b in range(B):
                T_, U = int(act_lens[b]), int(label_lens[b]) + 1
                lp, lab, al, be = log_probs[b], labels[b].tolist(), alphas[b], betas[b]
                for t in range(1, T_):
                    al[t, 0] = al[t - 1, 0] + lp[t - 1, 0, blank]
                for u in range(1, U):
                    al[0, u] = al[0, u - 1] + lp[0, u - 1, lab[u - 1]]
                for t in range(1, T_):
                    for u in range(1, U):
                        al[t, u] = T.logaddexp(al[t - 1, u] + lp[t - 1, u, blank],
                                               al[t, u - 1] + lp[t, u - 1, lab[u - 1]])
                be[T_ - 1, U - 1] = lp[T_ - 1, U - 1, blank]
                for t in reversed(range(T_ - 1)):
                    be[t, U - 1] = be[t + 1, U - 1] + lp[t, U - 1, blank]
                for u in reversed(range(U - 1)):
                    be[T_ - 1, u] = be[T_ - 1, u + 1] + lp[T_ - 1, u, lab[u]]
                for t in reversed(range(T_ - 1)):
                    for u in reversed(range(U - 1)):
                        be[t, u] = T.logaddexp(be[t + 1, u] + lp[t, u, blank], be[t, u + 1] + lp[t, u, lab[u]])
                log_like = be[0, 0]
                g = grads[b]
                g[T_ - 1, U - 1, blank] = al[T_ - 1, U - 1]
                g[:T_ - 1, :U, blank] = al[:T_ - 1, :U] + be[1:T_, :U]
                for u, l in enumerate(lab[:U - 1]):
                    g[:T_, u, l] = al[:T_, u] + be[:T_, u + 1]
                grads[b] = -T.exp(g + lp - log_like)
                costs[b] = -log_like
            ctx.save_for_backward(grads)
            return costs

        @staticmethod
        @once_differentiable
        def backward(ctx, grad_output):
            grads, = ctx.saved_tensors
            return grads * grad_output.view(-1, 1, 1, 1), None, None, None

    class Transducer(nn.Module):
        def __init__(self, num_inputs, num_outputs, hidden=6, joiner_dim=5):
            super().__init__()
            self.encoder = Encoder(num_inputs, hidden, joiner_dim)
            self.predictor = Predictor(num_outputs, hidden, joiner_dim)
            self.joiner = Joiner(joiner_dim, num_outputs)

        def forward(self, x, y):
            encoder_out = self.encoder(x)
            predictor_out, _ = self.predictor(F.pad(y, (1, 0), value=blank))
            return self.joiner(encoder_out.unsqueeze(2), predictor_out.unsqueeze(1)), encoder_out, predictor_out

        def compute_forward_prob(self, encoder_out, predictor_out, y, T_lens, U_lens):
            batch_size, T_max, U_max = encoder_out.shape[0], encoder_out.shape[1], y.shape[1] + 1
            log_alpha = T.zeros(batch_size, T_max, U_max)
            for t in range(T_max):
                for u in range(U_max):
                    if u == 0:
                        if t == 0:
                            log_alpha[:, t, u] = 0.
                        else:
                            log_alpha[:, t, u] = log_alpha[:, t - 1, u] + self.joiner.forward(
                                encoder_out[:, t - 1], predictor_out[:, 0]).log_softmax(1)[:, blank]
                    else:
                        emit = log_alpha[:, t, u - 1] + T.gather(self.joiner.forward(
                            encoder_out[:, t], predictor_out[:, u - 1]).log_softmax(1), dim=1,
                            index=y[:, u - 1].view(-1, 1)).reshape(-1)
                        if t == 0:
                            log_alpha[:, t, u] = emit
                        else:
                            log_alpha[:, t, u] = T.logsumexp(T.stack([
                                log_alpha[:, t - 1, u] + self.joiner.forward(
                                    encoder_out[:, t - 1], predictor_out[:, u]).log_softmax(1)[:, blank],
                                emit]), dim=0)
            log_probs = []
            for b in range(batch_size):
                log_prob = log_alpha[b, T_lens[b] - 1, U_lens[b]] + self.joiner.forward(
                    encoder_out[b, T_lens[b] - 1], predictor_out[b, U_lens[b]]).log_softmax(0)[blank]
                log_probs.append(log_prob)
            return T.stack(log_probs)

        def greedy_search(self, x, T_lens, U_max=10):
            y_batch = []
            encoder_out = self.encoder(x)
            for b in range(len(x)):
                t, u, y, state = 0, 0, [blank], None
                while t < T_lens[b] and u < U_max:
                    g_u, new_state = self.predictor(T.tensor([[y[-1]]]), state)
                    h_t_u = self.joiner(encoder_out[b, t], g_u[0, 0])
                    argmax = h_t_u.max(-1)[1].item()
                    if argmax == blank:
                        t += 1
                    else:
                        u += 1
                        y.append(argmax)
                        state = new_state
                y_batch.append(y[1:])
            return y_batch

    model = Transducer(4, 6)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.Adam(model.parameters(), lr=0.01)
    out = []
    for x, x_len, y, y_len in batches:
        with T.no_grad():
            hyps = model.greedy_search(T.tensor(x), x_len)
        out.append([h + [-1] * (10 - len(h)) for h in hyps])
        x, x_len, y, y_len = T.tensor(x), T.tensor(x_len), T.tensor(y), T.tensor(y_len)
        optimizer.zero_grad()
        logits, encoder_out, predictor_out = model(x, y)
        loss = rnnt_loss(logits, y, x_len, y_len)
        per_utterance = rnnt_loss(logits, y, x_len, y_len, reduction="none")
        lugosch = -model.compute_forward_prob(encoder_out, predictor_out, y, x_len, y_len)
        d_logits, = T.autograd.grad(loss, logits, retain_graph=True)
        by_function = _RNNT.apply(logits.log_softmax(-1), y, x_len, y_len)
        d_logits_by_function, = T.autograd.grad(by_function.mean(), logits, retain_graph=True)
        out += [by_function, d_logits_by_function]
        d_encoder, d_predictor = T.autograd.grad(lugosch.mean(), (encoder_out, predictor_out), retain_graph=True)
        loss.backward()
        optimizer.step()
        out += [loss, per_utterance, lugosch, d_logits, d_encoder, d_predictor, _grads(model)]
    with T.no_grad():
        x, x_len = batches[0][:2]
        hyps = model.greedy_search(T.tensor(x), x_len)
    out += [[h + [-1] * (10 - len(h)) for h in hyps], model.state_dict()]
    return out


def _rnnt_batch(rng, x_lens, y_lens, n_feats=4, vocab=6):
    x = np.zeros((len(x_lens), max(x_lens), n_feats))
    y = np.zeros((len(y_lens), max(y_lens)), dtype=np.int64)
    for b, (n, m) in enumerate(zip(x_lens, y_lens)):
        x[b, :n] = rng.standard_normal((n, n_feats))
        y[b, :m] = rng.integers(1, vocab, m)
    return x, np.array(x_lens), y, np.array(y_lens)


def test_rnn_transducer_joint_network_and_lattice_loss(torch):
    rng = _rng(4)
    _run(rnn_transducer, [_rnnt_batch(rng, xl, yl) for xl, yl in (([6, 4, 5], [3, 2, 3]), ([5, 6, 3], [1, 3, 2]))])


# ------------------------------------------------------------------------------------------------------------ ULMFiT
def ulmfit(T, sd, batches):
    """ULMFiT's classifier fine-tuning written in plain torch as fastai does it: an AWD-LSTM encoder (embedding with
    padding_idx, three LSTMs, the last one back to the embedding size), fastai's masked_concat_pool (the last real
    hidden state, max-pool over a -inf-filled and mean-pool over a zero-filled output, in-place div_), a
    PoolingLinearClassifier of BatchNorm1d / Linear(bias=False) / ReLU blocks, awd_lstm_clas_split's parameter
    groups with discriminative learning rates (lr / 2.6 ** depth), one AdamW over all groups, gradual unfreezing
    (freeze_to by requires_grad_), and for each stage slanted triangular learning rates by a LambdaLR with a lambda
    per group."""
    nn = T.nn
    pad_idx = 1

    class AWD_LSTM(nn.Module):
        def __init__(self, vocab_sz, emb_sz, n_hid, n_layers):
            super().__init__()
            self.encoder = nn.Embedding(vocab_sz, emb_sz, padding_idx=pad_idx)
            self.encoder.weight.data.uniform_(-0.1, 0.1)
            self.rnns = nn.ModuleList([nn.LSTM(emb_sz if l == 0 else n_hid, (n_hid if l != n_layers - 1 else emb_sz),
                                               1, batch_first=True) for l in range(n_layers)])

        def forward(self, inp):
            output = self.encoder(inp)
            for rnn in self.rnns:
                output, _ = rnn(output)
            return output, inp == pad_idx

    def masked_concat_pool(output, mask, bptt):
        lens = output.shape[1] - mask.long().sum(dim=1)
        last_lens = mask[:, -bptt:].long().sum(dim=1)
        avg_pool = output.masked_fill(mask[:, :, None], 0).sum(dim=1)
        avg_pool.div_(lens.type(avg_pool.dtype)[:, None])
        max_pool = output.masked_fill(mask[:, :, None], -float('inf')).max(dim=1)[0]
        return T.cat([output[T.arange(0, output.size(0)), -last_lens - 1], max_pool, avg_pool], 1)

    class LinBnDrop(nn.Sequential):
        def __init__(self, n_in, n_out, bn=True, p=0., act=None):
            layers = [nn.BatchNorm1d(n_in)] if bn else []
            if p != 0:
                layers.append(nn.Dropout(p))
            lin = [nn.Linear(n_in, n_out, bias=not bn)]
            if act is not None:
                lin.append(act)
            super().__init__(*(layers + lin))

    class PoolingLinearClassifier(nn.Module):
        def __init__(self, dims, bptt):
            super().__init__()
            acts = [nn.ReLU(inplace=True)] * (len(dims) - 2) + [None]
            self.layers = nn.Sequential(*[LinBnDrop(dims[i], dims[i + 1], act=act) for i, act in enumerate(acts)])
            self.bptt = bptt

        def forward(self, input):
            out, mask = input
            return self.layers(masked_concat_pool(out, mask, self.bptt))

    model = nn.Sequential(AWD_LSTM(20, 4, 6, 3), PoolingLinearClassifier([12, 5, 3], bptt=72))
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    enc = model[0]
    groups = [[enc.encoder], [enc.rnns[0]], [enc.rnns[1]], [enc.rnns[2]], [model[1]]]
    groups = [[p for m in g for p in m.parameters()] for g in groups]

    def freeze_to(n):
        for i, g in enumerate(groups):
            for p in g:
                p.requires_grad_(i >= (len(groups) + n if n < 0 else n))

    def stlr(T_total, cut_frac=0.25, ratio=32):
        cut = max(1, int(T_total * cut_frac))
        def f(it):
            p = it / cut if it < cut else 1 - (it - cut) / (cut * (1 / cut_frac - 1))
            return (1 + p * (ratio - 1)) / ratio
        return f

    lr = 1e-2
    optimizer = T.optim.AdamW([{"params": g, "lr": lr / 2.6 ** (len(groups) - 1 - i)} for i, g in enumerate(groups)],
                              betas=(0.8, 0.99), weight_decay=0.01)
    loss_func = nn.CrossEntropyLoss()
    out = []
    model.train()
    for stage, (n, steps) in enumerate(((-1, 2), (-2, 2), (0, 4))):
        freeze_to(n)
        scheduler = T.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=[stlr(steps)] * len(groups))
        for step in range(steps):
            x, y = batches[(stage + step) % len(batches)]
            x, y = T.tensor(x), T.tensor(y)
            optimizer.zero_grad()
            loss = loss_func(model(x), y)
            loss.backward()
            nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
            optimizer.step()
            scheduler.step()
            out += [loss, [g["lr"] for g in optimizer.param_groups], scheduler.get_last_lr(), _grads(model),
                    [p.requires_grad for p in model.parameters()]]
    model.eval()
    with T.no_grad():
        out.append(model(T.tensor(batches[0][0])).softmax(-1))
    out.append(model.state_dict())
    return out


def _ulmfit_batch(rng, lens, vocab=20, n_classes=3):
    x = np.full((len(lens), max(lens)), 1, dtype=np.int64)
    for b, n in enumerate(lens):
        x[b, :n] = rng.integers(2, vocab, n)
    return x, rng.integers(0, n_classes, len(lens))


def test_ulmfit_discriminative_lrs_stlr_gradual_unfreezing_concat_pooling(torch):
    rng = _rng(5)
    _run(ulmfit, [_ulmfit_batch(rng, lens) for lens in ([5, 7, 3, 6], [4, 4, 6, 2], [7, 5, 6, 3])])


# ------------------------------------------------------------------------------------- NMT with input feeding (Luong)
def luong_nmt(T, sd, batches, attn_type):
    """OpenNMT-py's RNN NMT (Luong et al. 2015): a bidirectional LSTM RNNEncoder over time-major packed sequences
    (lengths sorted), _fix_enc_hidden concatenating the directions, an InputFeedRNNDecoder (StackedLSTM of
    LSTMCells fed [embedding; previous attentional output]), GlobalAttention with 'dot', 'general' or Luong's
    'concat' score, source masking by sequence_mask (masked_fill_ -inf), tanh(linear_out([c; h])), a Linear +
    LogSoftmax generator, NLLLoss(ignore_index=pad, reduction='sum') normalised by the target tokens, SGD with
    max_grad_norm and an ExponentialLR decay; then greedy decoding one step at a time."""
    nn, F = T.nn, T.nn.functional
    pack, unpack = nn.utils.rnn.pack_padded_sequence, nn.utils.rnn.pad_packed_sequence
    PAD, BOS = 0, 1  # (EOS = 2 ends the targets)

    def sequence_mask(lengths, max_len=None):
        batch_size = lengths.numel()
        max_len = max_len or lengths.max()
        return (T.arange(0, max_len, device=lengths.device).type_as(lengths).repeat(batch_size, 1)
                .lt(lengths.unsqueeze(1)))

    class RNNEncoder(nn.Module):
        def __init__(self, hidden_size, embeddings, num_layers=2):
            super(RNNEncoder, self).__init__()
            self.embeddings = embeddings
            self.rnn = nn.LSTM(input_size=embeddings.embedding_dim, hidden_size=hidden_size // 2,
                               num_layers=num_layers, bidirectional=True)

        def forward(self, src, lengths=None):
            emb = self.embeddings(src)
            packed_emb = emb
            if lengths is not None:
                lengths_list = lengths.view(-1).tolist()
                packed_emb = pack(emb, lengths_list)
            memory_bank, encoder_final = self.rnn(packed_emb)
            if lengths is not None:
                memory_bank = unpack(memory_bank)[0]
            return encoder_final, memory_bank, lengths

    class GlobalAttention(nn.Module):
        def __init__(self, dim, attn_type="dot"):
            super(GlobalAttention, self).__init__()
            self.dim, self.attn_type = dim, attn_type
            if self.attn_type == "general":
                self.linear_in = nn.Linear(dim, dim, bias=False)
            elif self.attn_type == "concat":
                self.W_a = nn.Linear(dim * 2, dim, bias=False)
                self.v_a = nn.Linear(dim, 1, bias=False)
            self.linear_out = nn.Linear(dim * 2, dim, bias=False)

        def score(self, h_t, h_s):
            src_batch, src_len, src_dim = h_s.size()
            tgt_batch, tgt_len, tgt_dim = h_t.size()
            if self.attn_type in ["general", "dot"]:
                if self.attn_type == "general":
                    h_t_ = h_t.view(tgt_batch * tgt_len, tgt_dim)
                    h_t_ = self.linear_in(h_t_)
                    h_t = h_t_.view(tgt_batch, tgt_len, tgt_dim)
                h_s_ = h_s.transpose(1, 2)
                return T.bmm(h_t, h_s_)
            wq = h_t.unsqueeze(2).expand(tgt_batch, tgt_len, src_len, tgt_dim)
            uh = h_s.unsqueeze(1).expand(src_batch, tgt_len, src_len, src_dim)
            return self.v_a(T.tanh(self.W_a(T.cat([wq, uh], -1)))).squeeze(-1)

        def forward(self, source, memory_bank, memory_lengths=None):
            one_step = source.dim() == 2
            if one_step:
                source = source.unsqueeze(1)
            batch, source_l, dim = memory_bank.size()
            batch_, target_l, dim_ = source.size()
            align = self.score(source, memory_bank)
            if memory_lengths is not None:
                mask = sequence_mask(memory_lengths, max_len=align.size(-1))
                mask = mask.unsqueeze(1)
                align.masked_fill_(~mask, -float('inf'))
            align_vectors = F.softmax(align.view(batch * target_l, source_l), -1)
            align_vectors = align_vectors.view(batch, target_l, source_l)
            c = T.bmm(align_vectors, memory_bank)
            concat_c = T.cat([c, source], 2).view(batch * target_l, dim * 2)
            attn_h = self.linear_out(concat_c).view(batch, target_l, dim)
            attn_h = T.tanh(attn_h)
            if one_step:
                return attn_h.squeeze(1), align_vectors.squeeze(1)
            return attn_h.transpose(0, 1).contiguous(), align_vectors.transpose(0, 1).contiguous()

    class StackedLSTM(nn.Module):
        def __init__(self, num_layers, input_size, rnn_size):
            super(StackedLSTM, self).__init__()
            self.num_layers = num_layers
            self.layers = nn.ModuleList()
            for _ in range(num_layers):
                self.layers.append(nn.LSTMCell(input_size, rnn_size))
                input_size = rnn_size

        def forward(self, input_feed, hidden):
            h_0, c_0 = hidden
            h_1, c_1 = [], []
            for i, layer in enumerate(self.layers):
                h_1_i, c_1_i = layer(input_feed, (h_0[i], c_0[i]))
                input_feed = h_1_i
                h_1 += [h_1_i]
                c_1 += [c_1_i]
            return input_feed, (T.stack(h_1), T.stack(c_1))

    class InputFeedRNNDecoder(nn.Module):
        def __init__(self, hidden_size, embeddings, attn_type, num_layers=2):
            super(InputFeedRNNDecoder, self).__init__()
            self.embeddings, self.hidden_size = embeddings, hidden_size
            self.rnn = StackedLSTM(num_layers, embeddings.embedding_dim + hidden_size, hidden_size)
            self.attn = GlobalAttention(hidden_size, attn_type=attn_type)

        def init_state(self, encoder_final):
            def _fix_enc_hidden(hidden):
                return T.cat([hidden[0:hidden.size(0):2], hidden[1:hidden.size(0):2]], 2)
            self.state = {"hidden": tuple(_fix_enc_hidden(enc_hid) for enc_hid in encoder_final)}
            batch_size = self.state["hidden"][0].size(1)
            self.state["input_feed"] = self.state["hidden"][0].data.new(batch_size, self.hidden_size).zero_() \
                .unsqueeze(0)

        def forward(self, tgt, memory_bank, memory_lengths=None):
            dec_outs, attns = [], []
            input_feed = self.state["input_feed"].squeeze(0)
            dec_state = self.state["hidden"]
            emb = self.embeddings(tgt)
            for emb_t in emb.split(1):
                decoder_input = T.cat([emb_t.squeeze(0), input_feed], 1)
                rnn_output, dec_state = self.rnn(decoder_input, dec_state)
                decoder_output, p_attn = self.attn(rnn_output, memory_bank.transpose(0, 1),
                                                   memory_lengths=memory_lengths)
                input_feed = decoder_output
                dec_outs += [decoder_output]
                attns += [p_attn]
            self.state["hidden"] = dec_state
            self.state["input_feed"] = input_feed.unsqueeze(0)
            return T.stack(dec_outs), T.stack(attns)

    class NMTModel(nn.Module):
        def __init__(self, encoder, decoder):
            super(NMTModel, self).__init__()
            self.encoder, self.decoder = encoder, decoder

        def forward(self, src, tgt, lengths):
            dec_in = tgt[:-1]
            enc_state, memory_bank, lengths = self.encoder(src, lengths)
            self.decoder.init_state(enc_state)
            return self.decoder(dec_in, memory_bank, memory_lengths=lengths)

    hidden = 6
    model = NMTModel(RNNEncoder(hidden, nn.Embedding(12, 5, padding_idx=PAD)),
                     InputFeedRNNDecoder(hidden, nn.Embedding(10, 5, padding_idx=PAD), attn_type))
    model.generator = nn.Sequential(nn.Linear(hidden, 10), nn.LogSoftmax(dim=-1))
    for p in model.parameters():
        p.data.uniform_(-0.1, 0.1)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    criterion = nn.NLLLoss(ignore_index=PAD, reduction='sum')
    optimizer = T.optim.SGD(model.parameters(), lr=1.0)
    scheduler = T.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.5)
    out = []
    model.train()
    for src, lengths, tgt in batches:
        src, lengths, tgt = T.tensor(src), T.tensor(lengths), T.tensor(tgt)
        optimizer.zero_grad()
        outputs, attns = model(src, tgt, lengths)
        scores = model.generator(outputs.view(-1, outputs.size(2)))
        gtruth = tgt[1:].contiguous().view(-1)
        normalization = gtruth.ne(PAD).sum().item()
        loss = criterion(scores, gtruth)
        loss.div(float(normalization)).backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        out += [loss, attns, norm, _grads(model)]
    model.eval()
    with T.no_grad():
        src, lengths, _ = batches[0]
        src, lengths = T.tensor(src), T.tensor(lengths)
        enc_state, memory_bank, lengths = model.encoder(src, lengths)
        model.decoder.init_state(enc_state)
        decoder_input = T.full((1, src.size(1)), BOS, dtype=T.long)
        hyps = []
        for _ in range(5):
            dec_out, _ = model.decoder(decoder_input, memory_bank, memory_lengths=lengths)
            log_probs = model.generator(dec_out.squeeze(0))
            decoder_input = log_probs.argmax(-1).view(1, -1)
            hyps.append(decoder_input)
        out.append(T.cat(hyps))
    out.append(model.state_dict())
    return out


def _nmt_batch(rng, src_lens, tgt_lens):
    """Time-major source sorted by length (OpenNMT sorts its batches), and BOS ... EOS targets, PAD = 0."""
    src = np.zeros((max(src_lens), len(src_lens)), dtype=np.int64)
    tgt = np.zeros((max(tgt_lens) + 2, len(tgt_lens)), dtype=np.int64)
    for b, (n, m) in enumerate(zip(src_lens, tgt_lens)):
        src[:n, b] = rng.integers(3, 12, n)
        tgt[:m + 2, b] = [1, *rng.integers(3, 10, m), 2]
    return src, np.array(src_lens), tgt


@pytest.mark.parametrize("attn_type", ["dot", "general", "concat"])
def test_luong_nmt_input_feeding(torch, attn_type):
    rng = _rng(6)
    batches = [_nmt_batch(rng, s, t) for s, t in (([6, 5, 3], [4, 2, 5]), ([7, 4, 4], [3, 5, 1]))]
    _run(luong_nmt, batches, attn_type)


# ------------------------------------------------------------------------------------------ char-LSTM word features
def char_lstm_ner(T, sd, batches):
    """A CRF-free NER tagger with Lample et al.'s character features: every word of the batch embedded as a
    character sequence, sorted by length (sort descending), packed with pack_sequence, the char BiLSTM's final
    states of both directions concatenated and unsorted with index_select (and again with enforce_sorted=False,
    where torch restores the order itself, and from the packed outputs by pad_packed_sequence and gather at each
    word's last character), split back per sentence and padded with pad_sequence, concatenated to word
    embeddings, a word BiLSTM over pack_padded_sequence(enforce_sorted=False), a linear tag layer, cross entropy
    ignoring padded positions (-100), SGD with momentum and clip_grad_value_, and argmax decoding."""
    nn, F = T.nn, T.nn.functional
    rnn_utils = nn.utils.rnn

    class Tagger(nn.Module):
        def __init__(self, n_chars, char_dim, char_hidden, vocab, word_dim, hidden, n_tags):
            super().__init__()
            self.char_embeds = nn.Embedding(n_chars, char_dim)
            self.char_lstm = nn.LSTM(char_dim, char_hidden, bidirectional=True)
            self.word_embeds = nn.Embedding(vocab, word_dim, padding_idx=0)
            self.lstm = nn.LSTM(word_dim + 2 * char_hidden, hidden, bidirectional=True, batch_first=True)
            self.hidden2tag = nn.Linear(2 * hidden, n_tags)

        def char_features(self, words):
            word_lens = T.tensor([len(w) for w in words])
            sorted_lens, sorted_idx = word_lens.sort(descending=True)
            embedded = [self.char_embeds(T.tensor(words[i])) for i in sorted_idx.tolist()]
            packed = rnn_utils.pack_sequence(embedded)
            outputs, (h, _) = self.char_lstm(packed)
            feats = T.cat([h[0], h[1]], -1)
            _, unsort_idx = sorted_idx.sort()
            feats = feats.index_select(0, unsort_idx)
            # the same from unsorted words: torch sorts and restores the order itself
            packed_u = rnn_utils.pack_sequence([self.char_embeds(T.tensor(w)) for w in words], enforce_sorted=False)
            _, (h_u, _) = self.char_lstm(packed_u)
            # and from the padded outputs: the forward half at each word's last character, the backward at its first
            padded, lens = rnn_utils.pad_packed_sequence(outputs, batch_first=True)
            last = (lens - 1).view(-1, 1, 1).expand(-1, 1, padded.size(2))
            fw = padded.gather(1, last).squeeze(1)[:, :h.size(2)]
            bw = padded[:, 0, h.size(2):]
            by_outputs = T.cat([fw, bw], -1).index_select(0, unsort_idx)
            return feats, T.cat([h_u[0], h_u[1]], -1), by_outputs, packed.batch_sizes

        def forward(self, word_ids, words, lengths):
            feats, feats_u, by_outputs, batch_sizes = self.char_features(words)
            char_feats = rnn_utils.pad_sequence(feats.split(lengths.tolist()), batch_first=True)
            x = T.cat([self.word_embeds(word_ids), char_feats], -1)
            packed = rnn_utils.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            out, _ = self.lstm(packed)
            out, _ = rnn_utils.pad_packed_sequence(out, batch_first=True, total_length=word_ids.size(1))
            return self.hidden2tag(out), [feats_u, by_outputs, feats, batch_sizes]

    model = Tagger(10, 3, 4, 15, 4, 5, 4)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    out = []
    for word_ids, words, lengths, tags in batches:
        word_ids, lengths, tags = T.tensor(word_ids), T.tensor(lengths), T.tensor(tags)
        optimizer.zero_grad()
        scores, extra = model(word_ids, words, lengths)
        loss = F.cross_entropy(scores.view(-1, scores.size(-1)), tags.view(-1), ignore_index=-100)
        loss.backward()
        nn.utils.clip_grad_value_(model.parameters(), 0.5)
        optimizer.step()
        out += [loss, scores.argmax(-1).masked_fill(tags == -100, -1), extra, _grads(model)]
    out.append(model.state_dict())
    return out


def _ner_batch(rng, lens, vocab=15, n_chars=10, n_tags=4):
    word_ids = np.zeros((len(lens), max(lens)), dtype=np.int64)
    tags = np.full((len(lens), max(lens)), -100, dtype=np.int64)
    words = []
    for b, n in enumerate(lens):
        word_ids[b, :n] = rng.integers(1, vocab, n)
        tags[b, :n] = rng.integers(0, n_tags, n)
        words += [rng.integers(0, n_chars, rng.integers(1, 6)) for _ in range(n)]
    return word_ids, words, np.array(lens), tags


def test_char_lstm_word_features_ner(torch):
    rng = _rng(7)
    _run(char_lstm_ner, [_ner_batch(rng, lens) for lens in ([4, 6, 3], [5, 2, 5])])


# ------------------------------------------------------------------------------------------- GE2E speaker encoder
def ge2e_speaker_encoder(T, sd, batches):
    """Real-Time-Voice-Cloning's speaker encoder (CorentinJ): an LSTM over mel frames, ReLU(Linear(hidden[-1])),
    L2-normalised embeddings, the GE2E similarity matrix (centroids including and excluding each utterance, filled
    by numpy index arrays, sim_matrix[mask, :, j] = ...), a learnt scale and bias, cross entropy against
    np.repeat'd speaker ids, do_gradient_ops (the scale's and bias's grads *= 0.01, clip_grad_norm_), Adam; the EER
    from the detached similarities by numpy."""
    nn = T.nn

    class SpeakerEncoder(nn.Module):
        def __init__(self, mel_n_channels=4, model_hidden_size=6, model_embedding_size=5, model_num_layers=2):
            super().__init__()
            self.lstm = nn.LSTM(input_size=mel_n_channels, hidden_size=model_hidden_size,
                                num_layers=model_num_layers, batch_first=True)
            self.linear = nn.Linear(in_features=model_hidden_size, out_features=model_embedding_size)
            self.relu = T.nn.ReLU()
            self.similarity_weight = nn.Parameter(T.tensor([10.]))
            self.similarity_bias = nn.Parameter(T.tensor([-5.]))
            self.loss_fn = nn.CrossEntropyLoss()

        def do_gradient_ops(self):
            self.similarity_weight.grad *= 0.01
            self.similarity_bias.grad *= 0.01
            return nn.utils.clip_grad_norm_(self.parameters(), 3, norm_type=2)

        def forward(self, utterances, hidden_init=None):
            out, (hidden, cell) = self.lstm(utterances, hidden_init)
            embeds_raw = self.relu(self.linear(hidden[-1]))
            embeds = embeds_raw / (T.norm(embeds_raw, dim=1, keepdim=True) + 1e-5)
            return embeds

        def similarity_matrix(self, embeds):
            speakers_per_batch, utterances_per_speaker = embeds.shape[:2]
            centroids_incl = T.mean(embeds, dim=1, keepdim=True)
            centroids_incl = centroids_incl.clone() / (T.norm(centroids_incl, dim=2, keepdim=True) + 1e-5)
            centroids_excl = (T.sum(embeds, dim=1, keepdim=True) - embeds)
            centroids_excl /= (utterances_per_speaker - 1)
            centroids_excl = centroids_excl.clone() / (T.norm(centroids_excl, dim=2, keepdim=True) + 1e-5)
            sim_matrix = T.zeros(speakers_per_batch, utterances_per_speaker, speakers_per_batch)
            mask_matrix = 1 - np.eye(speakers_per_batch, dtype=np.int64)
            for j in range(speakers_per_batch):
                mask = np.where(mask_matrix[j])[0]
                sim_matrix[mask, :, j] = (embeds[mask] * centroids_incl[j]).sum(dim=2)
                sim_matrix[j, :, j] = (embeds[j] * centroids_excl[j]).sum(dim=1)
            sim_matrix = sim_matrix * self.similarity_weight + self.similarity_bias
            return sim_matrix

        def loss(self, embeds):
            speakers_per_batch, utterances_per_speaker = embeds.shape[:2]
            sim_matrix = self.similarity_matrix(embeds)
            sim_matrix = sim_matrix.reshape((speakers_per_batch * utterances_per_speaker, speakers_per_batch))
            ground_truth = np.repeat(np.arange(speakers_per_batch), utterances_per_speaker)
            target = T.from_numpy(ground_truth).long()
            loss = self.loss_fn(sim_matrix, target)
            with T.no_grad():
                labels = np.eye(speakers_per_batch)[ground_truth]
                preds = sim_matrix.detach().cpu().numpy()
                # the equal error rate: the threshold where false accepts and false rejects cross
                order = np.argsort(-preds.flatten(), kind="stable")
                pos = labels.flatten()[order]
                fnr = 1 - np.cumsum(pos) / pos.sum()
                fpr = np.cumsum(1 - pos) / (1 - pos).sum()
                eer = fpr[np.argmin(np.abs(fnr - fpr))]
            return loss, eer

    model = SpeakerEncoder()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.Adam(model.parameters(), lr=1e-2)
    out = []
    for speaker_batch in batches:
        speakers, utterances = speaker_batch.shape[:2]
        inputs = T.from_numpy(speaker_batch.reshape(speakers * utterances, *speaker_batch.shape[2:]))
        embeds = model(inputs)
        embeds_loss = embeds.view((speakers, utterances, -1))
        loss, eer = model.loss(embeds_loss)
        model.zero_grad()
        loss.backward()
        norm = model.do_gradient_ops()
        optimizer.step()
        out += [loss, eer, embeds, norm, _grads(model)]
    out.append(model.state_dict())
    return out


def test_ge2e_speaker_encoder_similarity_matrix(torch):
    rng = _rng(8)
    _run(ge2e_speaker_encoder, [rng.standard_normal((3, 4, 7, 4)) for _ in range(3)])


# ---------------------------------------------------------------------------------------- Show, Attend and Tell
def show_attend_tell(T, sd, batches):
    """sgrvinod's a-PyTorch-Tutorial-to-Image-Captioning: an encoder (a small conv net standing in for ResNet-101,
    its first children frozen by fine_tune, AdaptiveAvgPool2d to a grid that does not divide the map, permute to
    pixels last), soft attention (encoder_att + decoder_att, ReLU, full_att, Softmax(dim=1)), a DecoderWithAttention
    that sorts by caption length, initialises h and c from the mean encoding, gates the context by sigmoid(f_beta(h))
    and decodes with a shrinking batch (batch_size_t), predictions and alphas written into zeros; the loss on
    pack_padded_sequence(...).data of scores and targets plus the doubly stochastic attention penalty, clip_gradient
    by clamp_, two Adams, adjust_learning_rate, top-5 accuracy; then caption.py's beam search (topk over the
    flattened scores, floor division and remainder into beams, completed sequences set aside)."""
    nn = T.nn
    pack_padded_sequence = nn.utils.rnn.pack_padded_sequence

    class Encoder(nn.Module):
        def __init__(self, encoded_image_size=3):
            super(Encoder, self).__init__()
            self.resnet = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                        nn.Conv2d(4, 6, 3, stride=2, padding=1), nn.ReLU())
            self.adaptive_pool = nn.AdaptiveAvgPool2d((encoded_image_size, encoded_image_size))
            self.fine_tune()

        def forward(self, images):
            out = self.resnet(images)
            out = self.adaptive_pool(out)
            return out.permute(0, 2, 3, 1)

        def fine_tune(self, fine_tune=True):
            for p in self.resnet.parameters():
                p.requires_grad = False
            for c in list(self.resnet.children())[3:]:
                for p in c.parameters():
                    p.requires_grad = fine_tune

    class Attention(nn.Module):
        def __init__(self, encoder_dim, decoder_dim, attention_dim):
            super(Attention, self).__init__()
            self.encoder_att = nn.Linear(encoder_dim, attention_dim)
            self.decoder_att = nn.Linear(decoder_dim, attention_dim)
            self.full_att = nn.Linear(attention_dim, 1)
            self.relu = nn.ReLU()
            self.softmax = nn.Softmax(dim=1)

        def forward(self, encoder_out, decoder_hidden):
            att1 = self.encoder_att(encoder_out)
            att2 = self.decoder_att(decoder_hidden)
            att = self.full_att(self.relu(att1 + att2.unsqueeze(1))).squeeze(2)
            alpha = self.softmax(att)
            attention_weighted_encoding = (encoder_out * alpha.unsqueeze(2)).sum(dim=1)
            return attention_weighted_encoding, alpha

    class DecoderWithAttention(nn.Module):
        def __init__(self, attention_dim, embed_dim, decoder_dim, vocab_size, encoder_dim=6, dropout=0.0):
            super(DecoderWithAttention, self).__init__()
            self.encoder_dim, self.vocab_size = encoder_dim, vocab_size
            self.attention = Attention(encoder_dim, decoder_dim, attention_dim)
            self.embedding = nn.Embedding(vocab_size, embed_dim)
            self.dropout = nn.Dropout(p=dropout)
            self.decode_step = nn.LSTMCell(embed_dim + encoder_dim, decoder_dim, bias=True)
            self.init_h = nn.Linear(encoder_dim, decoder_dim)
            self.init_c = nn.Linear(encoder_dim, decoder_dim)
            self.f_beta = nn.Linear(decoder_dim, encoder_dim)
            self.sigmoid = nn.Sigmoid()
            self.fc = nn.Linear(decoder_dim, vocab_size)
            self.embedding.weight.data.uniform_(-0.1, 0.1)
            self.fc.bias.data.fill_(0)
            self.fc.weight.data.uniform_(-0.1, 0.1)

        def init_hidden_state(self, encoder_out):
            mean_encoder_out = encoder_out.mean(dim=1)
            return self.init_h(mean_encoder_out), self.init_c(mean_encoder_out)

        def forward(self, encoder_out, encoded_captions, caption_lengths):
            batch_size = encoder_out.size(0)
            encoder_dim = encoder_out.size(-1)
            vocab_size = self.vocab_size
            encoder_out = encoder_out.view(batch_size, -1, encoder_dim)
            num_pixels = encoder_out.size(1)
            caption_lengths, sort_ind = caption_lengths.squeeze(1).sort(dim=0, descending=True)
            encoder_out = encoder_out[sort_ind]
            encoded_captions = encoded_captions[sort_ind]
            embeddings = self.embedding(encoded_captions)
            h, c = self.init_hidden_state(encoder_out)
            decode_lengths = (caption_lengths - 1).tolist()
            predictions = T.zeros(batch_size, max(decode_lengths), vocab_size)
            alphas = T.zeros(batch_size, max(decode_lengths), num_pixels)
            for t in range(max(decode_lengths)):
                batch_size_t = sum([l > t for l in decode_lengths])
                attention_weighted_encoding, alpha = self.attention(encoder_out[:batch_size_t], h[:batch_size_t])
                gate = self.sigmoid(self.f_beta(h[:batch_size_t]))
                attention_weighted_encoding = gate * attention_weighted_encoding
                h, c = self.decode_step(T.cat([embeddings[:batch_size_t, t, :], attention_weighted_encoding], dim=1),
                                        (h[:batch_size_t], c[:batch_size_t]))
                preds = self.fc(self.dropout(h))
                predictions[:batch_size_t, t, :] = preds
                alphas[:batch_size_t, t, :] = alpha
            return predictions, encoded_captions, decode_lengths, alphas, sort_ind

    def clip_gradient(optimizer, grad_clip):
        for group in optimizer.param_groups:
            for param in group['params']:
                if param.grad is not None:
                    param.grad.data.clamp_(-grad_clip, grad_clip)

    def adjust_learning_rate(optimizer, shrink_factor):
        for param_group in optimizer.param_groups:
            param_group['lr'] = param_group['lr'] * shrink_factor

    def accuracy(scores, targets, k):
        batch_size = targets.size(0)
        _, ind = scores.topk(k, 1, True, True)
        correct = ind.eq(targets.view(-1, 1).expand_as(ind))
        correct_total = correct.view(-1).float().sum()
        return correct_total.item() * (100.0 / batch_size)

    def caption_image_beam_search(encoder, decoder, image, word_map_start=1, word_map_end=2, beam_size=3):
        k = beam_size
        vocab_size = decoder.vocab_size
        encoder_out = encoder(image.unsqueeze(0))
        enc_image_size = encoder_out.size(1)
        encoder_dim = encoder_out.size(3)
        encoder_out = encoder_out.view(1, -1, encoder_dim)
        num_pixels = encoder_out.size(1)
        encoder_out = encoder_out.expand(k, num_pixels, encoder_dim)
        k_prev_words = T.LongTensor([[word_map_start]] * k)
        seqs = k_prev_words
        top_k_scores = T.zeros(k, 1)
        seqs_alpha = T.ones(k, 1, enc_image_size, enc_image_size)
        complete_seqs, complete_seqs_alpha, complete_seqs_scores = [], [], []
        step = 1
        h, c = decoder.init_hidden_state(encoder_out)
        while True:
            embeddings = decoder.embedding(k_prev_words).squeeze(1)
            awe, alpha = decoder.attention(encoder_out, h)
            alpha = alpha.view(-1, enc_image_size, enc_image_size)
            gate = decoder.sigmoid(decoder.f_beta(h))
            awe = gate * awe
            h, c = decoder.decode_step(T.cat([embeddings, awe], dim=1), (h, c))
            scores = decoder.fc(h)
            scores = T.nn.functional.log_softmax(scores, dim=1)
            scores = top_k_scores.expand_as(scores) + scores
            if step == 1:
                top_k_scores, top_k_words = scores[0].topk(k, 0, True, True)
            else:
                top_k_scores, top_k_words = scores.view(-1).topk(k, 0, True, True)
            prev_word_inds = T.div(top_k_words, vocab_size, rounding_mode='floor')
            next_word_inds = top_k_words % vocab_size
            seqs = T.cat([seqs[prev_word_inds], next_word_inds.unsqueeze(1)], dim=1)
            seqs_alpha = T.cat([seqs_alpha[prev_word_inds], alpha[prev_word_inds].unsqueeze(1)], dim=1)
            incomplete_inds = [ind for ind, next_word in enumerate(next_word_inds) if next_word != word_map_end]
            complete_inds = list(set(range(len(next_word_inds))) - set(incomplete_inds))
            if len(complete_inds) > 0:
                complete_seqs.extend(seqs[complete_inds].tolist())
                complete_seqs_alpha.extend(seqs_alpha[complete_inds].tolist())
                complete_seqs_scores.extend(top_k_scores[complete_inds])
            k -= len(complete_inds)
            if k == 0:
                break
            seqs = seqs[incomplete_inds]
            seqs_alpha = seqs_alpha[incomplete_inds]
            h = h[prev_word_inds[incomplete_inds]]
            c = c[prev_word_inds[incomplete_inds]]
            encoder_out = encoder_out[prev_word_inds[incomplete_inds]]
            top_k_scores = top_k_scores[incomplete_inds].unsqueeze(1)
            k_prev_words = next_word_inds[incomplete_inds].unsqueeze(1)
            if step > 6:
                break
            step += 1
        if not complete_seqs_scores:
            return seqs[0].tolist(), seqs_alpha[0].tolist(), top_k_scores[0]
        i = complete_seqs_scores.index(max(complete_seqs_scores))
        return complete_seqs[i], complete_seqs_alpha[i], complete_seqs_scores[i]

    encoder = Encoder()
    decoder = DecoderWithAttention(attention_dim=5, embed_dim=4, decoder_dim=6, vocab_size=9)
    if sd is None:
        return {"encoder": _state(encoder), "decoder": _state(decoder)}
    _load(T, encoder, sd["encoder"])
    _load(T, decoder, sd["decoder"])
    decoder_optimizer = T.optim.Adam(params=filter(lambda p: p.requires_grad, decoder.parameters()), lr=4e-3)
    encoder_optimizer = T.optim.Adam(params=filter(lambda p: p.requires_grad, encoder.parameters()), lr=1e-3)
    criterion = nn.CrossEntropyLoss()
    alpha_c, grad_clip = 1., 0.05
    out = []
    decoder.train()
    encoder.train()
    for i, (imgs, caps, caplens) in enumerate(batches):
        imgs, caps, caplens = T.tensor(imgs), T.tensor(caps), T.tensor(caplens)
        imgs = encoder(imgs)
        scores, caps_sorted, decode_lengths, alphas, sort_ind = decoder(imgs, caps, caplens)
        targets = caps_sorted[:, 1:]
        scores = pack_padded_sequence(scores, decode_lengths, batch_first=True).data
        targets = pack_padded_sequence(targets, decode_lengths, batch_first=True).data
        loss = criterion(scores, targets)
        loss += alpha_c * ((1. - alphas.sum(dim=1)) ** 2).mean()
        decoder_optimizer.zero_grad()
        encoder_optimizer.zero_grad()
        loss.backward()
        out += [loss, _grads(encoder), _grads(decoder)]
        clip_gradient(decoder_optimizer, grad_clip)
        clip_gradient(encoder_optimizer, grad_clip)
        decoder_optimizer.step()
        encoder_optimizer.step()
        out += [accuracy(scores, targets, 5), sort_ind, alphas]
        adjust_learning_rate(decoder_optimizer, 0.8)
    encoder.eval()
    decoder.eval()
    with T.no_grad():
        seq, alphas, score = caption_image_beam_search(encoder, decoder, T.tensor(batches[0][0][0]))
    out += [seq, alphas, score, encoder.state_dict(), decoder.state_dict()]
    return out


def _caption_batch(rng, lens, vocab=9):
    caps = np.zeros((len(lens), max(lens) + 2), dtype=np.int64)
    for b, n in enumerate(lens):
        caps[b, :n + 2] = [1, *rng.integers(3, vocab, n), 2]
    return rng.standard_normal((len(lens), 3, 8, 8)), caps, np.array(lens)[:, None] + 2


def test_show_attend_tell_shrinking_batch_and_beam_search(torch):
    rng = _rng(9)
    _run(show_attend_tell, [_caption_batch(rng, lens) for lens in ([3, 5, 2, 4], [4, 1, 3, 5])])


# ---------------------------------------------------------------------------------------------------------- ConvS2S
def convs2s(T, sd, batches):
    """bentrevett/pytorch-seq2seq's "Convolutional Sequence to Sequence Learning": token + position embeddings,
    Conv1d + GLU blocks with residual connections scaled by torch.sqrt(torch.FloatTensor([0.5])) (a float32
    factor on float64 activations), a decoder padded causally by torch.zeros(...).fill_(pad) concatenated in
    front, multi-step attention from each decoder layer over the encoder's conved and combined outputs,
    CrossEntropyLoss(ignore_index=pad), clip_grad_norm_, Adam, count_parameters, and translate_sentence's greedy
    loop (argmax(2)[:, -1].item())."""
    nn, F = T.nn, T.nn.functional
    PAD, SOS, EOS = 1, 2, 3

    class Encoder(nn.Module):
        def __init__(self, input_dim, emb_dim, hid_dim, n_layers, kernel_size, dropout, max_length=100):
            super().__init__()
            assert kernel_size % 2 == 1, "Kernel size must be odd!"
            self.scale = T.sqrt(T.FloatTensor([0.5]))
            self.tok_embedding = nn.Embedding(input_dim, emb_dim)
            self.pos_embedding = nn.Embedding(max_length, emb_dim)
            self.emb2hid = nn.Linear(emb_dim, hid_dim)
            self.hid2emb = nn.Linear(hid_dim, emb_dim)
            self.convs = nn.ModuleList([nn.Conv1d(in_channels=hid_dim, out_channels=2 * hid_dim,
                                                  kernel_size=kernel_size, padding=(kernel_size - 1) // 2)
                                        for _ in range(n_layers)])
            self.dropout = nn.Dropout(dropout)

        def forward(self, src):
            batch_size, src_len = src.shape[0], src.shape[1]
            pos = T.arange(0, src_len).unsqueeze(0).repeat(batch_size, 1)
            embedded = self.dropout(self.tok_embedding(src) + self.pos_embedding(pos))
            conv_input = self.emb2hid(embedded)
            conv_input = conv_input.permute(0, 2, 1)
            for i, conv in enumerate(self.convs):
                conved = conv(self.dropout(conv_input))
                conved = F.glu(conved, dim=1)
                conved = (conved + conv_input) * self.scale
                conv_input = conved
            conved = self.hid2emb(conved.permute(0, 2, 1))
            combined = (conved + embedded) * self.scale
            return conved, combined

    class Decoder(nn.Module):
        def __init__(self, output_dim, emb_dim, hid_dim, n_layers, kernel_size, dropout, trg_pad_idx, max_length=100):
            super().__init__()
            self.kernel_size, self.trg_pad_idx = kernel_size, trg_pad_idx
            self.scale = T.sqrt(T.FloatTensor([0.5]))
            self.tok_embedding = nn.Embedding(output_dim, emb_dim)
            self.pos_embedding = nn.Embedding(max_length, emb_dim)
            self.emb2hid = nn.Linear(emb_dim, hid_dim)
            self.hid2emb = nn.Linear(hid_dim, emb_dim)
            self.attn_hid2emb = nn.Linear(hid_dim, emb_dim)
            self.attn_emb2hid = nn.Linear(emb_dim, hid_dim)
            self.fc_out = nn.Linear(emb_dim, output_dim)
            self.convs = nn.ModuleList([nn.Conv1d(in_channels=hid_dim, out_channels=2 * hid_dim,
                                                  kernel_size=kernel_size) for _ in range(n_layers)])
            self.dropout = nn.Dropout(dropout)

        def calculate_attention(self, embedded, conved, encoder_conved, encoder_combined):
            conved_emb = self.attn_hid2emb(conved.permute(0, 2, 1))
            combined = (conved_emb + embedded) * self.scale
            energy = T.matmul(combined, encoder_conved.permute(0, 2, 1))
            attention = F.softmax(energy, dim=2)
            attended_encoding = T.matmul(attention, encoder_combined)
            attended_encoding = self.attn_emb2hid(attended_encoding)
            attended_combined = (conved + attended_encoding.permute(0, 2, 1)) * self.scale
            return attention, attended_combined

        def forward(self, trg, encoder_conved, encoder_combined):
            batch_size, trg_len = trg.shape[0], trg.shape[1]
            pos = T.arange(0, trg_len).unsqueeze(0).repeat(batch_size, 1)
            embedded = self.dropout(self.tok_embedding(trg) + self.pos_embedding(pos))
            conv_input = self.emb2hid(embedded)
            conv_input = conv_input.permute(0, 2, 1)
            batch_size, hid_dim = conv_input.shape[0], conv_input.shape[1]
            for i, conv in enumerate(self.convs):
                conv_input = self.dropout(conv_input)
                padding = T.zeros(batch_size, hid_dim, self.kernel_size - 1).fill_(self.trg_pad_idx)
                padded_conv_input = T.cat((padding, conv_input), dim=2)
                conved = conv(padded_conv_input)
                conved = F.glu(conved, dim=1)
                attention, conved = self.calculate_attention(embedded, conved, encoder_conved, encoder_combined)
                conved = (conved + conv_input) * self.scale
                conv_input = conved
            conved = self.hid2emb(conved.permute(0, 2, 1))
            output = self.fc_out(self.dropout(conved))
            return output, attention

    class Seq2Seq(nn.Module):
        def __init__(self, encoder, decoder):
            super().__init__()
            self.encoder, self.decoder = encoder, decoder

        def forward(self, src, trg):
            encoder_conved, encoder_combined = self.encoder(src)
            return self.decoder(trg, encoder_conved, encoder_combined)

    def count_parameters(model):
        return sum(p.numel() for p in model.parameters() if p.requires_grad)

    def translate_sentence(src_indexes, model, max_len=6):
        model.eval()
        src_tensor = T.LongTensor(src_indexes).unsqueeze(0)
        with T.no_grad():
            encoder_conved, encoder_combined = model.encoder(src_tensor)
        trg_indexes = [SOS]
        for i in range(max_len):
            trg_tensor = T.LongTensor(trg_indexes).unsqueeze(0)
            with T.no_grad():
                output, attention = model.decoder(trg_tensor, encoder_conved, encoder_combined)
            pred_token = output.argmax(2)[:, -1].item()
            trg_indexes.append(pred_token)
            if pred_token == EOS:
                break
        return trg_indexes, attention

    model = Seq2Seq(Encoder(11, 4, 6, 2, 3, 0.0), Decoder(10, 4, 6, 2, 3, 0.0, PAD))
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.Adam(model.parameters(), lr=5e-3)
    criterion = nn.CrossEntropyLoss(ignore_index=PAD)
    out = [count_parameters(model)]
    model.train()
    epoch_loss = 0
    for src, trg in batches:
        src, trg = T.tensor(src), T.tensor(trg)
        optimizer.zero_grad()
        output, attention = model(src, trg[:, :-1])
        output_dim = output.shape[-1]
        output = output.contiguous().view(-1, output_dim)
        trg = trg[:, 1:].contiguous().view(-1)
        loss = criterion(output, trg)
        loss.backward()
        T.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        optimizer.step()
        epoch_loss += loss.item()
        out += [loss, attention, _grads(model)]
    out.append(epoch_loss / len(batches))
    trg_indexes, attention = translate_sentence(batches[0][0][0].tolist(), model)
    out += [trg_indexes + [-1] * (7 - len(trg_indexes)), attention, model.state_dict()]
    return out


def _convs2s_batch(rng, src_lens, trg_lens):
    src = np.full((len(src_lens), max(src_lens) + 2), 1, dtype=np.int64)
    trg = np.full((len(trg_lens), max(trg_lens) + 2), 1, dtype=np.int64)
    for b, (n, m) in enumerate(zip(src_lens, trg_lens)):
        src[b, :n + 2] = [2, *rng.integers(4, 11, n), 3]
        trg[b, :m + 2] = [2, *rng.integers(4, 10, m), 3]
    return src, trg


def test_convs2s_glu_blocks_and_multistep_attention(torch):
    rng = _rng(10)
    _run(convs2s, [_convs2s_batch(rng, s, t) for s, t in (([5, 3, 4], [4, 4, 2]), ([2, 6, 4], [3, 5, 3]))])


# ------------------------------------------------------------------------------------ an LSTM LM, adaptive softmax
def adaptive_softmax_lm(T, sd, corpus):
    """pytorch/examples' word language model (batchify, get_batch, repackage_hidden, the manual SGD update
    p.data.add_(p.grad, alpha=-lr), clip_grad_norm_, lr annealed by 4) with Grave et al.'s adaptive softmax as
    its decoder (nn.AdaptiveLogSoftmaxWithLoss with cutoffs, div_value and head_bias), evaluated with log_prob,
    predict and math.exp of the loss."""
    nn = T.nn
    bptt = 4

    class RNNModel(nn.Module):
        def __init__(self, ntoken, ninp, nhid, nlayers, cutoffs):
            super(RNNModel, self).__init__()
            self.encoder = nn.Embedding(ntoken, ninp)
            self.rnn = nn.LSTM(ninp, nhid, nlayers)
            self.decoder = nn.AdaptiveLogSoftmaxWithLoss(nhid, ntoken, cutoffs=cutoffs, div_value=2.0,
                                                         head_bias=True)
            self.nhid, self.nlayers = nhid, nlayers
            initrange = 0.1
            nn.init.uniform_(self.encoder.weight, -initrange, initrange)

        def forward(self, input, hidden, target):
            emb = self.encoder(input)
            output, hidden = self.rnn(emb, hidden)
            output = output.view(-1, output.size(2))
            out = self.decoder(output, target.view(-1))
            return out.output, out.loss, output, hidden

        def init_hidden(self, bsz):
            weight = next(self.parameters())
            return (weight.new_zeros(self.nlayers, bsz, self.nhid), weight.new_zeros(self.nlayers, bsz, self.nhid))

    def batchify(data, bsz):
        nbatch = data.size(0) // bsz
        data = data.narrow(0, 0, nbatch * bsz)
        return data.view(bsz, -1).t().contiguous()

    def get_batch(source, i):
        seq_len = min(bptt, len(source) - 1 - i)
        data = source[i:i + seq_len]
        target = source[i + 1:i + 1 + seq_len].view(-1)
        return data, target

    def repackage_hidden(h):
        if isinstance(h, T.Tensor):
            return h.detach()
        return tuple(repackage_hidden(v) for v in h)

    model = RNNModel(20, 5, 6, 2, cutoffs=[4, 10])
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    train_data = batchify(T.tensor(corpus), 3)
    lr, out = 5.0, []
    for epoch in range(2):
        model.train()
        hidden = model.init_hidden(3)
        for batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):
            data, targets = get_batch(train_data, i)
            model.zero_grad()
            hidden = repackage_hidden(hidden)
            target_log_probs, loss, _, hidden = model(data, hidden, targets)
            loss.backward()
            norm = T.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
            for p in model.parameters():
                p.data.add_(p.grad, alpha=-lr)
            out += [target_log_probs, loss, norm, _grads(model)]
        lr /= 4.0
    model.eval()
    with T.no_grad():
        hidden = model.init_hidden(3)
        data, targets = get_batch(train_data, 0)
        _, loss, output, hidden = model(data, hidden, targets)
        out += [math.exp(loss.item()), model.decoder.log_prob(output), model.decoder.predict(output)]
    out.append(model.state_dict())
    return out


def test_word_language_model_with_adaptive_softmax(torch):
    rng = _rng(11)
    corpus = np.minimum(rng.zipf(1.5, 40) - 1, 19)
    _run(adaptive_softmax_lm, corpus)


# ---------------------------------------------------------------------------------------------------------- Tacotron
def tacotron(T, sd, batches):
    """r9y9/tacotron_pytorch (Tacotron 1) at small sizes: Prenet, CBHG (a bank of BatchNormConv1d of widths 1..K
    cut to T frames, MaxPool1d(2, stride=1, padding=1) cut again, conv projections, a residual, Highway layers, a
    BiGRU over pack_padded_sequence fed numpy lengths), a decoder of r frames per step (an AttentionWrapper round a
    GRUCell with Bahdanau attention, scores masked through alignment.data.masked_fill_ and an implicit-dim
    F.softmax, residual GRUCells), the postnet CBHG and last linear; train.py's sort by input length, L1 mel and
    priority-frequency linear losses, Noam learning-rate decay written into param_groups, clip_grad_norm_, Adam;
    then greedy synthesis until is_end_of_frames or max_decoder_steps. (The prenet's dropout is 0 here: the
    repo's 0.5 would draw different masks in each library.)"""
    nn, F = T.nn, T.nn.functional
    Variable = T.autograd.Variable
    A, P = 8, 4  # (the repo's 256 and 128)

    class Prenet(nn.Module):
        def __init__(self, in_dim, sizes=[A, P]):
            super(Prenet, self).__init__()
            in_sizes = [in_dim] + sizes[:-1]
            self.layers = nn.ModuleList([nn.Linear(in_size, out_size) for (in_size, out_size) in zip(in_sizes, sizes)])
            self.relu = nn.ReLU()
            self.dropout = nn.Dropout(0.0)

        def forward(self, inputs):
            for linear in self.layers:
                inputs = self.dropout(self.relu(linear(inputs)))
            return inputs

    class BatchNormConv1d(nn.Module):
        def __init__(self, in_dim, out_dim, kernel_size, stride, padding, activation=None):
            super(BatchNormConv1d, self).__init__()
            self.conv1d = nn.Conv1d(in_dim, out_dim, kernel_size=kernel_size, stride=stride, padding=padding,
                                    bias=False)
            self.bn = nn.BatchNorm1d(out_dim, momentum=0.99, eps=1e-3)
            self.activation = activation

        def forward(self, x):
            x = self.conv1d(x)
            x = self.activation(x) if self.activation is not None else x
            return self.bn(x)

    class Highway(nn.Module):
        def __init__(self, in_size, out_size):
            super(Highway, self).__init__()
            self.H = nn.Linear(in_size, out_size)
            self.H.bias.data.zero_()
            self.T = nn.Linear(in_size, out_size)
            self.T.bias.data.fill_(-1)
            self.relu = nn.ReLU()
            self.sigmoid = nn.Sigmoid()

        def forward(self, inputs):
            H = self.relu(self.H(inputs))
            T_ = self.sigmoid(self.T(inputs))
            return H * T_ + inputs * (1.0 - T_)

    class CBHG(nn.Module):
        def __init__(self, in_dim, K=16, projections=[P, P]):
            super(CBHG, self).__init__()
            self.in_dim = in_dim
            self.relu = nn.ReLU()
            self.conv1d_banks = nn.ModuleList([BatchNormConv1d(in_dim, in_dim, kernel_size=k, stride=1,
                                                               padding=k // 2, activation=self.relu)
                                               for k in range(1, K + 1)])
            self.max_pool1d = nn.MaxPool1d(kernel_size=2, stride=1, padding=1)
            in_sizes = [K * in_dim] + projections[:-1]
            activations = [self.relu] * (len(projections) - 1) + [None]
            self.conv1d_projections = nn.ModuleList([BatchNormConv1d(in_size, out_size, kernel_size=3, stride=1,
                                                                     padding=1, activation=ac)
                                                     for (in_size, out_size, ac) in zip(
                                                         in_sizes, projections, activations)])
            self.pre_highway = nn.Linear(projections[-1], in_dim, bias=False)
            self.highways = nn.ModuleList([Highway(in_dim, in_dim) for _ in range(4)])
            self.gru = nn.GRU(in_dim, in_dim, 1, batch_first=True, bidirectional=True)

        def forward(self, inputs, input_lengths=None):
            x = inputs
            if x.size(-1) == self.in_dim:
                x = x.transpose(1, 2)
            T_ = x.size(-1)
            x = T.cat([conv1d(x)[:, :, :T_] for conv1d in self.conv1d_banks], dim=1)
            assert x.size(1) == self.in_dim * len(self.conv1d_banks)
            x = self.max_pool1d(x)[:, :, :T_]
            for conv1d in self.conv1d_projections:
                x = conv1d(x)
            x = x.transpose(1, 2)
            if x.size(-1) != self.in_dim:
                x = self.pre_highway(x)
            x += inputs
            for highway in self.highways:
                x = highway(x)
            if input_lengths is not None:
                x = nn.utils.rnn.pack_padded_sequence(x, input_lengths, batch_first=True)
            outputs, _ = self.gru(x)
            if input_lengths is not None:
                outputs, _ = nn.utils.rnn.pad_packed_sequence(outputs, batch_first=True)
            return outputs

    class BahdanauAttention(nn.Module):
        def __init__(self, dim):
            super(BahdanauAttention, self).__init__()
            self.query_layer = nn.Linear(dim, dim, bias=False)
            self.tanh = nn.Tanh()
            self.v = nn.Linear(dim, 1, bias=False)

        def forward(self, query, processed_memory):
            if query.dim() == 2:
                query = query.unsqueeze(1)
            processed_query = self.query_layer(query)
            alignment = self.v(self.tanh(processed_query + processed_memory))
            return alignment.squeeze(-1)

    def get_mask_from_lengths(memory, memory_lengths):
        mask = memory.data.new(memory.size(0), memory.size(1)).bool().zero_()
        for idx, l in enumerate(memory_lengths):
            mask[idx][:l] = 1
        return ~mask

    class AttentionWrapper(nn.Module):
        def __init__(self, rnn_cell, attention_mechanism, score_mask_value=-float("inf")):
            super(AttentionWrapper, self).__init__()
            self.rnn_cell, self.attention_mechanism = rnn_cell, attention_mechanism
            self.score_mask_value = score_mask_value

        def forward(self, query, attention, cell_state, memory, processed_memory=None, mask=None):
            if processed_memory is None:
                processed_memory = memory
            cell_input = T.cat((query, attention), -1)
            cell_output = self.rnn_cell(cell_input, cell_state)
            alignment = self.attention_mechanism(cell_output, processed_memory)
            if mask is not None:
                mask = mask.view(query.size(0), -1)
                alignment.data.masked_fill_(mask, self.score_mask_value)
            alignment = F.softmax(alignment)
            attention = T.bmm(alignment.unsqueeze(1), memory)
            attention = attention.squeeze(1)
            return cell_output, attention, alignment

    def is_end_of_frames(output, eps=0.2):
        return (output.data <= eps).all()

    class Decoder(nn.Module):
        def __init__(self, in_dim, r, max_decoder_steps=3):
            super(Decoder, self).__init__()
            self.in_dim, self.r = in_dim, r
            self.prenet = Prenet(in_dim * r, sizes=[A, P])
            self.attention_rnn = AttentionWrapper(nn.GRUCell(A + P, A), BahdanauAttention(A))
            self.memory_layer = nn.Linear(A, A, bias=False)
            self.project_to_decoder_in = nn.Linear(2 * A, A)
            self.decoder_rnns = nn.ModuleList([nn.GRUCell(A, A) for _ in range(2)])
            self.proj_to_mel = nn.Linear(A, in_dim * r)
            self.max_decoder_steps = max_decoder_steps

        def forward(self, encoder_outputs, inputs=None, memory_lengths=None):
            B = encoder_outputs.size(0)
            processed_memory = self.memory_layer(encoder_outputs)
            mask = get_mask_from_lengths(processed_memory, memory_lengths) if memory_lengths is not None else None
            greedy = inputs is None
            if inputs is not None:
                if inputs.size(-1) == self.in_dim:
                    inputs = inputs.view(B, inputs.size(1) // self.r, -1)
                assert inputs.size(-1) == self.in_dim * self.r
                T_decoder = inputs.size(1)
            initial_input = Variable(encoder_outputs.data.new(B, self.in_dim * self.r).zero_())
            attention_rnn_hidden = Variable(encoder_outputs.data.new(B, A).zero_())
            decoder_rnn_hiddens = [Variable(encoder_outputs.data.new(B, A).zero_())
                                   for _ in range(len(self.decoder_rnns))]
            current_attention = Variable(encoder_outputs.data.new(B, A).zero_())
            if inputs is not None:
                inputs = inputs.transpose(0, 1)
            outputs, alignments = [], []
            t = 0
            current_input = initial_input
            while True:
                if t > 0:
                    current_input = outputs[-1] if greedy else inputs[t - 1]
                current_input = self.prenet(current_input)
                attention_rnn_hidden, current_attention, alignment = self.attention_rnn(
                    current_input, current_attention, attention_rnn_hidden, encoder_outputs,
                    processed_memory=processed_memory, mask=mask)
                decoder_input = self.project_to_decoder_in(T.cat((attention_rnn_hidden, current_attention), -1))
                for idx in range(len(self.decoder_rnns)):
                    decoder_rnn_hiddens[idx] = self.decoder_rnns[idx](decoder_input, decoder_rnn_hiddens[idx])
                    decoder_input = decoder_rnn_hiddens[idx] + decoder_input
                output = self.proj_to_mel(decoder_input)
                outputs += [output]
                alignments += [alignment]
                t += 1
                if greedy:
                    if t > 1 and is_end_of_frames(output):
                        break
                    elif t > self.max_decoder_steps:
                        break
                elif t >= T_decoder:
                    break
            assert greedy or len(outputs) == T_decoder
            alignments = T.stack(alignments).transpose(0, 1)
            outputs = T.stack(outputs).transpose(0, 1).contiguous()
            return outputs, alignments

    class Tacotron(nn.Module):
        def __init__(self, n_vocab, embedding_dim=A, mel_dim=4, linear_dim=7, r=2, padding_idx=None,
                     use_memory_mask=False):
            super(Tacotron, self).__init__()
            self.mel_dim, self.linear_dim, self.use_memory_mask = mel_dim, linear_dim, use_memory_mask
            self.embedding = nn.Embedding(n_vocab, embedding_dim, padding_idx=padding_idx)
            self.embedding.weight.data.normal_(0, 0.3)
            self.encoder_prenet = Prenet(embedding_dim, sizes=[A, P])
            self.encoder_cbhg = CBHG(P, K=4, projections=[A, P])
            self.decoder = Decoder(mel_dim, r)
            self.postnet = CBHG(mel_dim, K=3, projections=[P, mel_dim])
            self.last_linear = nn.Linear(mel_dim * 2, linear_dim)

        def forward(self, inputs, targets=None, input_lengths=None):
            B = inputs.size(0)
            inputs = self.embedding(inputs)
            encoder_outputs = self.encoder_cbhg(self.encoder_prenet(inputs), input_lengths)
            memory_lengths = input_lengths if self.use_memory_mask else None
            mel_outputs, alignments = self.decoder(encoder_outputs, targets, memory_lengths=memory_lengths)
            mel_outputs = mel_outputs.view(B, -1, self.mel_dim)
            linear_outputs = self.postnet(mel_outputs)
            linear_outputs = self.last_linear(linear_outputs)
            return mel_outputs, linear_outputs, alignments

    def _learning_rate_decay(init_lr, global_step):
        warmup_steps = 4000.0
        step = global_step + 1.
        return init_lr * warmup_steps ** 0.5 * np.minimum(step * warmup_steps ** -1.5, step ** -0.5)

    model = Tacotron(10, padding_idx=0, use_memory_mask=True)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.Adam(model.parameters(), lr=0.002, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0)
    criterion = nn.L1Loss()
    fs, linear_dim = 16000, 7
    out = []
    model.train()
    for global_step, (x, input_lengths, mel, y) in enumerate(batches):
        x, input_lengths, mel, y = T.tensor(x), T.tensor(input_lengths), T.tensor(mel), T.tensor(y)
        sorted_lengths, indices = T.sort(input_lengths.view(-1), dim=0, descending=True)
        sorted_lengths = sorted_lengths.long().numpy()
        x, mel, y = x[indices], mel[indices], y[indices]
        current_lr = _learning_rate_decay(2000 * 0.002, global_step)
        for param_group in optimizer.param_groups:
            param_group['lr'] = current_lr
        optimizer.zero_grad()
        mel_outputs, linear_outputs, attn = model(x, mel, input_lengths=sorted_lengths)
        mel_loss = criterion(mel_outputs, mel)
        n_priority_freq = int(3000 / (fs * 0.5) * linear_dim)
        linear_loss = 0.5 * criterion(linear_outputs, y) + 0.5 * criterion(linear_outputs[:, :, :n_priority_freq],
                                                                             y[:, :, :n_priority_freq])
        loss = mel_loss + linear_loss
        loss.backward()
        grad_norm = T.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        out += [loss, mel_outputs, linear_outputs, attn, grad_norm, _grads(model)]
    model.eval()
    with T.no_grad():
        x, input_lengths = batches[0][:2]
        mel_outputs, linear_outputs, alignments = model(T.tensor(x[:1]), input_lengths=input_lengths[:1])
    out += [mel_outputs, linear_outputs, alignments, model.state_dict()]
    return out


def _tacotron_batch(rng, lens, frames):
    x = np.zeros((len(lens), max(lens)), dtype=np.int64)
    for b, n in enumerate(lens):
        x[b, :n] = rng.integers(1, 10, n)
    return x, np.array(lens), rng.standard_normal((len(lens), frames, 4)), rng.standard_normal((len(lens), frames, 7))


@pytest.mark.filterwarnings("ignore:Implicit dimension choice for softmax")  # (the repo's F.softmax(alignment))
def test_tacotron_cbhg_attention_wrapper_and_greedy_synthesis(torch):
    rng = _rng(13)
    _run(tacotron, [_tacotron_batch(rng, lens, 6) for lens in ([5, 7, 4], [6, 3, 6])])


# -------------------------------------------------------------------------------------------------------------- ESIM
def esim(T, sd, batches):
    """coetaur0/ESIM (Chen et al.'s Enhanced Sequential Inference Model): get_mask (a float32 mask sized by a 0-d
    max length, zeroed by boolean indexing), sort_by_seq_lens (new_tensor of an arange, index_select restoring),
    Seq2SeqEncoder's packed BiLSTMs, SoftmaxAttention with the repo's masked_softmax and weighted_sum, the
    [a; a~; a - a~; a * a~] enhancement, a ReLU projection, composition BiLSTMs, masked average and max pooling
    (replace_masked with -1e7), the classifier, _init_esim_weights (xavier, orthogonal, forget-gate biases of 1 in
    both directions through .data slices), Adam, clip_grad_norm_, ReduceLROnPlateau on the accuracy."""
    nn = T.nn

    def sort_by_seq_lens(batch, sequences_lengths, descending=True):
        sorted_seq_lens, sorting_index = sequences_lengths.sort(0, descending=descending)
        sorted_batch = batch.index_select(0, sorting_index)
        idx_range = sequences_lengths.new_tensor(T.arange(0, len(sequences_lengths)))
        _, reverse_mapping = sorting_index.sort(0, descending=False)
        restoration_index = idx_range.index_select(0, reverse_mapping)
        return sorted_batch, sorted_seq_lens, sorting_index, restoration_index

    def get_mask(sequences_batch, sequences_lengths):
        batch_size = sequences_batch.size()[0]
        max_length = T.max(sequences_lengths)
        mask = T.ones(batch_size, max_length, dtype=T.float)
        mask[sequences_batch[:, :max_length] == 0] = 0.0
        return mask

    def masked_softmax(tensor, mask):
        tensor_shape = tensor.size()
        reshaped_tensor = tensor.view(-1, tensor_shape[-1])
        while mask.dim() < tensor.dim():
            mask = mask.unsqueeze(1)
        mask = mask.expand_as(tensor).contiguous().float()
        reshaped_mask = mask.view(-1, mask.size()[-1])
        result = nn.functional.softmax(reshaped_tensor * reshaped_mask, dim=-1)
        result = result * reshaped_mask
        result = result / (result.sum(dim=-1, keepdim=True) + 1e-13)
        return result.view(*tensor_shape)

    def weighted_sum(tensor, weights, mask):
        weighted_sum = weights.bmm(tensor)
        while mask.dim() < weighted_sum.dim():
            mask = mask.unsqueeze(1)
        mask = mask.transpose(-1, -2)
        mask = mask.expand_as(weighted_sum).contiguous().float()
        return weighted_sum * mask

    def replace_masked(tensor, mask, value):
        mask = mask.unsqueeze(1).transpose(2, 1)
        reverse_mask = 1.0 - mask
        values_to_add = value * reverse_mask
        return tensor * mask + values_to_add

    class Seq2SeqEncoder(nn.Module):
        def __init__(self, rnn_type, input_size, hidden_size, num_layers=1, bias=True, dropout=0.0,
                     bidirectional=False):
            assert issubclass(rnn_type, nn.RNNBase), "rnn_type must be a class inheriting from torch.nn.RNNBase"
            super(Seq2SeqEncoder, self).__init__()
            self._encoder = rnn_type(input_size, hidden_size, num_layers=num_layers, bias=bias, batch_first=True,
                                     dropout=dropout, bidirectional=bidirectional)

        def forward(self, sequences_batch, sequences_lengths):
            sorted_batch, sorted_lengths, _, restoration_idx = sort_by_seq_lens(sequences_batch, sequences_lengths)
            packed_batch = nn.utils.rnn.pack_padded_sequence(sorted_batch, sorted_lengths, batch_first=True)
            outputs, _ = self._encoder(packed_batch, None)
            outputs, _ = nn.utils.rnn.pad_packed_sequence(outputs, batch_first=True)
            return outputs.index_select(0, restoration_idx)

    class SoftmaxAttention(nn.Module):
        def forward(self, premise_batch, premise_mask, hypothesis_batch, hypothesis_mask):
            similarity_matrix = premise_batch.bmm(hypothesis_batch.transpose(2, 1).contiguous())
            prem_hyp_attn = masked_softmax(similarity_matrix, hypothesis_mask)
            hyp_prem_attn = masked_softmax(similarity_matrix.transpose(1, 2).contiguous(), premise_mask)
            attended_premises = weighted_sum(hypothesis_batch, prem_hyp_attn, premise_mask)
            attended_hypotheses = weighted_sum(premise_batch, hyp_prem_attn, hypothesis_mask)
            return attended_premises, attended_hypotheses

    def _init_esim_weights(module):
        if isinstance(module, nn.Linear):
            nn.init.xavier_uniform_(module.weight.data)
            nn.init.constant_(module.bias.data, 0.0)
        elif isinstance(module, nn.LSTM):
            nn.init.xavier_uniform_(module.weight_ih_l0.data)
            nn.init.orthogonal_(module.weight_hh_l0.data)
            nn.init.constant_(module.bias_ih_l0.data, 0.0)
            nn.init.constant_(module.bias_hh_l0.data, 0.0)
            hidden_size = module.bias_hh_l0.data.shape[0] // 4
            module.bias_hh_l0.data[hidden_size:(2 * hidden_size)] = 1.0
            if module.bidirectional:
                nn.init.xavier_uniform_(module.weight_ih_l0_reverse.data)
                nn.init.orthogonal_(module.weight_hh_l0_reverse.data)
                nn.init.constant_(module.bias_ih_l0_reverse.data, 0.0)
                nn.init.constant_(module.bias_hh_l0_reverse.data, 0.0)
                module.bias_hh_l0_reverse.data[hidden_size:(2 * hidden_size)] = 1.0

    class ESIM(nn.Module):
        def __init__(self, vocab_size, embedding_dim, hidden_size, embeddings=None, padding_idx=0, dropout=0.5,
                     num_classes=3):
            super(ESIM, self).__init__()
            self.vocab_size, self.embedding_dim, self.hidden_size = vocab_size, embedding_dim, hidden_size
            self.num_classes, self.dropout = num_classes, dropout
            self._word_embedding = nn.Embedding(self.vocab_size, self.embedding_dim, padding_idx=padding_idx,
                                                _weight=embeddings)
            self._encoding = Seq2SeqEncoder(nn.LSTM, self.embedding_dim, self.hidden_size, bidirectional=True)
            self._attention = SoftmaxAttention()
            self._projection = nn.Sequential(nn.Linear(4 * 2 * self.hidden_size, self.hidden_size), nn.ReLU())
            self._composition = Seq2SeqEncoder(nn.LSTM, self.hidden_size, self.hidden_size, bidirectional=True)
            self._classification = nn.Sequential(nn.Dropout(p=self.dropout),
                                                 nn.Linear(2 * 4 * self.hidden_size, self.hidden_size),
                                                 nn.Tanh(), nn.Dropout(p=self.dropout),
                                                 nn.Linear(self.hidden_size, self.num_classes))
            self.apply(_init_esim_weights)

        def forward(self, premises, premises_lengths, hypotheses, hypotheses_lengths):
            premises_mask = get_mask(premises, premises_lengths)
            hypotheses_mask = get_mask(hypotheses, hypotheses_lengths)
            embedded_premises = self._word_embedding(premises)
            embedded_hypotheses = self._word_embedding(hypotheses)
            encoded_premises = self._encoding(embedded_premises, premises_lengths)
            encoded_hypotheses = self._encoding(embedded_hypotheses, hypotheses_lengths)
            attended_premises, attended_hypotheses = self._attention(encoded_premises, premises_mask,
                                                                     encoded_hypotheses, hypotheses_mask)
            enhanced_premises = T.cat([encoded_premises, attended_premises, encoded_premises - attended_premises,
                                       encoded_premises * attended_premises], dim=-1)
            enhanced_hypotheses = T.cat([encoded_hypotheses, attended_hypotheses,
                                         encoded_hypotheses - attended_hypotheses,
                                         encoded_hypotheses * attended_hypotheses], dim=-1)
            projected_premises = self._projection(enhanced_premises)
            projected_hypotheses = self._projection(enhanced_hypotheses)
            v_ai = self._composition(projected_premises, premises_lengths)
            v_bj = self._composition(projected_hypotheses, hypotheses_lengths)
            v_a_avg = T.sum(v_ai * premises_mask.unsqueeze(1).transpose(2, 1), dim=1) / T.sum(
                premises_mask, dim=1, keepdim=True)
            v_b_avg = T.sum(v_bj * hypotheses_mask.unsqueeze(1).transpose(2, 1), dim=1) / T.sum(
                hypotheses_mask, dim=1, keepdim=True)
            v_a_max, _ = replace_masked(v_ai, premises_mask, -1e7).max(dim=1)
            v_b_max, _ = replace_masked(v_bj, hypotheses_mask, -1e7).max(dim=1)
            v = T.cat([v_a_avg, v_a_max, v_b_avg, v_b_max], dim=1)
            logits = self._classification(v)
            probabilities = nn.functional.softmax(logits, dim=-1)
            return logits, probabilities

    def correct_predictions(output_probabilities, targets):
        _, out_classes = output_probabilities.max(dim=1)
        correct = (out_classes == targets).sum()
        return correct.item()

    model = ESIM(14, 4, 5, dropout=0.0)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.Adam(model.parameters(), lr=4e-2)
    scheduler = T.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.5, patience=0)
    criterion = nn.CrossEntropyLoss()
    out = []
    for epoch in range(2):
        model.train()
        correct = 0
        for premises, premises_lengths, hypotheses, hypotheses_lengths, labels in batches:
            premises, premises_lengths = T.tensor(premises), T.tensor(premises_lengths)
            hypotheses, hypotheses_lengths, labels = T.tensor(hypotheses), T.tensor(hypotheses_lengths), \
                T.tensor(labels)
            optimizer.zero_grad()
            logits, probs = model(premises, premises_lengths, hypotheses, hypotheses_lengths)
            loss = criterion(logits, labels)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            optimizer.step()
            correct += correct_predictions(probs, labels)
            out += [loss, probs, _grads(model)]
        scheduler.step(correct / 8)
        out += [correct, optimizer.param_groups[0]["lr"]]
    out.append(model.state_dict())
    return out


def _esim_batch(rng, p_lens, h_lens, vocab=14):
    def seqs(lens):
        x = np.zeros((len(lens), max(lens) + 1), dtype=np.int64)  # (one column of padding past the longest)
        for b, n in enumerate(lens):
            x[b, :n] = rng.integers(1, vocab, n)
        return x
    return seqs(p_lens), np.array(p_lens), seqs(h_lens), np.array(h_lens), rng.integers(0, 3, len(p_lens))


@pytest.mark.filterwarnings("ignore:To copy construct from a tensor")  # (the repo's new_tensor(torch.arange(...)))
def test_esim_natural_language_inference(torch):
    rng = _rng(14)
    _run(esim, [_esim_batch(rng, p, h) for p, h in (([6, 4, 5, 3], [3, 5, 2, 4]), ([5, 6, 2, 4], [4, 2, 3, 5]))])


# ------------------------------------------------------------------------------------------------------------ MoChA
def mocha(T, sd, batches, noise):
    """j-min/MoChA-pytorch (Raffel et al.'s monotonic attention and Chiu & Raffel's monotonic chunkwise
    attention): an Energy with a weight-normed v whose weight_g.data is replaced by
    torch.Tensor([[1 / att_dim]]).sqrt() and a learnt offset r, soft monotonic attention (sigmoid of energy plus
    pre-sigmoid noise, safe_cumprod by exp of an exclusive cumsum of clamped logs, alpha by the cumsum recursion,
    alpha[:, 0] written into zeros at the first step), the chunkwise soft attention by moving sums (F.pad and a
    conv1d of ones), and at inference the hard monotonic attention (exclusive_cumprod, the tensor truthiness
    `if not attended[i]`) with its chunk masked by masked_fill_ -inf and a softmax; inside an LSTMCell decoder
    trained with MSE and Adam. The repo's V(decoder_h).repeat(sequence_length, 1) is kept as it is written.
    (The Gaussian noise is drawn by numpy and given: each library's normal_() draws its own.)"""
    nn, F = T.nn, T.nn.functional
    noise = list(noise)

    def exclusive_cumsum(x):
        return T.cumsum(F.pad(x, (1, 0)), dim=1)[:, :-1]

    class Energy(nn.Module):
        def __init__(self, enc_dim=10, dec_dim=10, att_dim=10, init_r=-4):
            super().__init__()
            self.tanh = nn.Tanh()
            self.W = nn.Linear(enc_dim, att_dim, bias=False)
            self.V = nn.Linear(dec_dim, att_dim, bias=False)
            self.b = nn.Parameter(T.Tensor(att_dim).normal_())
            self.v = nn.utils.weight_norm(nn.Linear(10, 1))
            self.v.weight_g.data = T.Tensor([[1 / att_dim]]).sqrt()  # (the repo's [1 / att_dim], shape (1,),
            # fails torch 2's weight-norm backward: a gradient of shape (1,) where (1, 1) is expected)
            self.r = nn.Parameter(T.Tensor([init_r]))

        def forward(self, encoder_outputs, decoder_h):
            batch_size, sequence_length, enc_dim = encoder_outputs.size()
            encoder_outputs = encoder_outputs.view(-1, enc_dim)
            energy = self.tanh(self.W(encoder_outputs) + self.V(decoder_h).repeat(sequence_length, 1) + self.b)
            energy = self.v(energy).squeeze(-1) + self.r
            return energy.view(batch_size, sequence_length)

    class MonotonicAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.monotonic_energy = Energy()
            self.sigmoid = nn.Sigmoid()

        def gaussian_noise(self, *size):
            return T.tensor(noise.pop(0)).view(*size)

        def safe_cumprod(self, x):
            return T.exp(exclusive_cumsum(T.log(T.clamp(x, min=1e-10, max=1))))

        def exclusive_cumprod(self, x):
            batch_size, sequence_length = x.size()
            one_x = T.cat([T.ones(batch_size, 1), x], dim=1)[:, :-1]
            return T.cumprod(one_x, dim=1)

        def soft(self, encoder_outputs, decoder_h, previous_alpha=None):
            batch_size, sequence_length, enc_dim = encoder_outputs.size()
            monotonic_energy = self.monotonic_energy(encoder_outputs, decoder_h)
            p_select = self.sigmoid(monotonic_energy + self.gaussian_noise(monotonic_energy.size()))
            cumprod_1_minus_p = self.safe_cumprod(1 - p_select)
            if previous_alpha is None:
                alpha = T.zeros(batch_size, sequence_length)
                alpha[:, 0] = T.ones(batch_size)
            else:
                alpha = p_select * cumprod_1_minus_p * T.cumsum(previous_alpha / cumprod_1_minus_p, dim=1)
            return alpha

        def hard(self, encoder_outputs, decoder_h, previous_attention=None):
            batch_size, sequence_length, enc_dim = encoder_outputs.size()
            if previous_attention is None:
                attention = T.zeros(batch_size, sequence_length)
                attention[:, 0] = T.ones(batch_size)
            else:
                monotonic_energy = self.monotonic_energy(encoder_outputs, decoder_h)
                above_threshold = (monotonic_energy > 0).float()
                p_select = above_threshold * T.cumsum(previous_attention, dim=1)
                attention = p_select * self.exclusive_cumprod(1 - p_select)
                attended = attention.sum(dim=1)
                for batch_i in range(batch_size):
                    if not attended[batch_i]:
                        attention[batch_i, -1] = 1
            return attention

    class MoChA(MonotonicAttention):
        def __init__(self, chunk_size=3):
            super().__init__()
            self.chunk_size = chunk_size
            self.chunk_energy = Energy()
            self.softmax = nn.Softmax(dim=1)

        def moving_sum(self, x, back, forward):
            x_padded = F.pad(x, pad=[back, forward])
            x_padded = x_padded.unsqueeze(1)
            filters = T.ones(1, 1, back + forward + 1)
            x_sum = F.conv1d(x_padded, filters)
            return x_sum.squeeze(1)

        def chunkwise_attention_soft(self, alpha, u):
            exp_u = T.exp(u)
            return exp_u * self.moving_sum(alpha / (self.moving_sum(exp_u, self.chunk_size - 1, 0)), 0,
                                           self.chunk_size - 1)

        def chunkwise_attention_hard(self, monotonic_attention, chunk_energy):
            mask = monotonic_attention.new_tensor(monotonic_attention)
            for i in range(1, self.chunk_size):
                mask[:, :-i] += monotonic_attention[:, i:]
            masked_energy = chunk_energy.masked_fill_((1 - mask).bool(), -float('inf'))
            return self.softmax(masked_energy)

        def soft(self, encoder_outputs, decoder_h, previous_alpha=None):
            alpha = super().soft(encoder_outputs, decoder_h, previous_alpha)
            chunk_energy = self.chunk_energy(encoder_outputs, decoder_h)
            return alpha, self.chunkwise_attention_soft(alpha, chunk_energy)

        def hard(self, encoder_outputs, decoder_h, previous_attention=None):
            monotonic_attention = super().hard(encoder_outputs, decoder_h, previous_attention)
            chunk_energy = self.chunk_energy(encoder_outputs, decoder_h)
            return monotonic_attention, self.chunkwise_attention_hard(monotonic_attention, chunk_energy)

    class Seq2Seq(nn.Module):
        def __init__(self, n_in=3, n_out=2, dim=10):
            super().__init__()
            self.encoder = nn.GRU(n_in, dim, batch_first=True)
            self.attention = MoChA(chunk_size=2)
            self.cell = nn.LSTMCell(n_out + dim, dim)
            self.out = nn.Linear(2 * dim, n_out)

        def forward(self, x, y_in, hard=False):
            enc, _ = self.encoder(x)
            enc = enc.contiguous()  # (a batch_first GRU's output is a transposed view: Energy views it)
            h = c = enc.new_zeros(enc.size(0), enc.size(2))
            context = enc.new_zeros(enc.size(0), enc.size(2))
            alpha, outs, attns = None, [], []
            for t in range(y_in.size(1)):
                h, c = self.cell(T.cat([y_in[:, t], context], -1), (h, c))
                if hard:
                    alpha, beta = self.attention.hard(enc, h, alpha)
                else:
                    alpha, beta = self.attention.soft(enc, h, alpha)
                context = T.bmm(beta.unsqueeze(1), enc).squeeze(1)
                outs.append(self.out(T.cat([h, context], -1)))
                attns.append(beta)
            return T.stack(outs, 1), T.stack(attns, 1)

    model = Seq2Seq()
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.Adam(model.parameters(), lr=1e-2)
    out = []
    for x, y in batches:
        x, y = T.tensor(x), T.tensor(y)
        y_in = F.pad(y[:, :-1], (0, 0, 1, 0))
        optimizer.zero_grad()
        pred, attns = model(x, y_in)
        loss = F.mse_loss(pred, y)
        loss.backward()
        optimizer.step()
        out += [loss, attns, _grads(model)]
    model.eval()
    with T.no_grad():
        x, y = batches[0]
        pred, attns = model(T.tensor(x), F.pad(T.tensor(y)[:, :-1], (0, 0, 1, 0)), hard=True)
    out += [pred, attns, model.state_dict()]
    return out


@pytest.mark.filterwarnings("ignore:To copy construct from a tensor")  # (the repo's new_tensor(attention))
@pytest.mark.filterwarnings("ignore:`torch.nn.utils.weight_norm` is deprecated:FutureWarning")
def test_mocha_monotonic_chunkwise_attention(torch):
    rng = _rng(15)
    batches = [(rng.standard_normal((3, 6, 3)), rng.standard_normal((3, 4, 2))) for _ in range(2)]
    noise = [rng.standard_normal((3, 6)) for _ in range(8)]
    _run(mocha, batches, noise)


# ----------------------------------------------------------------------------------------------------------- WaveRNN
def wavernn(T, sd, batches, mode):
    """fatchord/WaveRNN's vocoder: MelResNet (ResBlocks of 1x1 Conv1d + BatchNorm1d), Stretch2d (unsqueeze, repeat,
    view), the UpsampleNetwork (Conv2d smoothing kernels filled with 1/k, the indent cut), the WaveRNN body (aux
    slices, two GRUs with residuals, fc layers), its `step` buffer counted in place, and the loss of either mode:
    'RAW' (cross entropy over (B, C, T, 1) logits) or 'MOL' (the discretized mixture of logistics loss, with its
    log_sum_exp, softplus, float32 condition masks and numpy-scalar constants); clip_grad_norm_, Adam."""
    nn, F = T.nn, T.nn.functional

    class ResBlock(nn.Module):
        def __init__(self, dims):
            super().__init__()
            self.conv1 = nn.Conv1d(dims, dims, kernel_size=1, bias=False)
            self.conv2 = nn.Conv1d(dims, dims, kernel_size=1, bias=False)
            self.batch_norm1 = nn.BatchNorm1d(dims)
            self.batch_norm2 = nn.BatchNorm1d(dims)

        def forward(self, x):
            residual = x
            x = F.relu(self.batch_norm1(self.conv1(x)))
            x = self.batch_norm2(self.conv2(x))
            return x + residual

    class MelResNet(nn.Module):
        def __init__(self, res_blocks, in_dims, compute_dims, res_out_dims, pad):
            super().__init__()
            k_size = pad * 2 + 1
            self.conv_in = nn.Conv1d(in_dims, compute_dims, kernel_size=k_size, bias=False)
            self.batch_norm = nn.BatchNorm1d(compute_dims)
            self.layers = nn.ModuleList()
            for i in range(res_blocks):
                self.layers.append(ResBlock(compute_dims))
            self.conv_out = nn.Conv1d(compute_dims, res_out_dims, kernel_size=1)

        def forward(self, x):
            x = F.relu(self.batch_norm(self.conv_in(x)))
            for f in self.layers:
                x = f(x)
            return self.conv_out(x)

    class Stretch2d(nn.Module):
        def __init__(self, x_scale, y_scale):
            super().__init__()
            self.x_scale, self.y_scale = x_scale, y_scale

        def forward(self, x):
            b, c, h, w = x.size()
            x = x.unsqueeze(-1).unsqueeze(3)
            x = x.repeat(1, 1, 1, self.y_scale, 1, self.x_scale)
            return x.view(b, c, h * self.y_scale, w * self.x_scale)

    class UpsampleNetwork(nn.Module):
        def __init__(self, feat_dims, upsample_scales, compute_dims, res_blocks, res_out_dims, pad):
            super().__init__()
            total_scale = int(np.cumprod(upsample_scales)[-1])
            self.indent = pad * total_scale
            self.resnet = MelResNet(res_blocks, feat_dims, compute_dims, res_out_dims, pad)
            self.resnet_stretch = Stretch2d(total_scale, 1)
            self.up_layers = nn.ModuleList()
            for scale in upsample_scales:
                k_size = (1, scale * 2 + 1)
                padding = (0, scale)
                stretch = Stretch2d(scale, 1)
                conv = nn.Conv2d(1, 1, kernel_size=k_size, padding=padding, bias=False)
                conv.weight.data.fill_(1. / k_size[1])
                self.up_layers.append(stretch)
                self.up_layers.append(conv)

        def forward(self, m):
            aux = self.resnet(m).unsqueeze(1)
            aux = self.resnet_stretch(aux)
            aux = aux.squeeze(1)
            m = m.unsqueeze(1)
            for f in self.up_layers:
                m = f(m)
            m = m.squeeze(1)[:, :, self.indent:-self.indent]
            return m.transpose(1, 2), aux.transpose(1, 2)

    class WaveRNN(nn.Module):
        def __init__(self, rnn_dims, fc_dims, bits, pad, upsample_factors, feat_dims, compute_dims, res_out_dims,
                     res_blocks, mode='RAW'):
            super().__init__()
            self.mode = mode
            self.n_classes = 2 ** bits if mode == 'RAW' else 30
            self.rnn_dims = rnn_dims
            self.aux_dims = res_out_dims // 4
            self.upsample = UpsampleNetwork(feat_dims, upsample_factors, compute_dims, res_blocks, res_out_dims, pad)
            self.I = nn.Linear(feat_dims + self.aux_dims + 1, rnn_dims)
            self.rnn1 = nn.GRU(rnn_dims, rnn_dims, batch_first=True)
            self.rnn2 = nn.GRU(rnn_dims + self.aux_dims, rnn_dims, batch_first=True)
            self.fc1 = nn.Linear(rnn_dims + self.aux_dims, fc_dims)
            self.fc2 = nn.Linear(fc_dims + self.aux_dims, fc_dims)
            self.fc3 = nn.Linear(fc_dims, self.n_classes)
            self.register_buffer('step', T.zeros(1, dtype=T.long))

        def forward(self, x, mels):
            device = next(self.parameters()).device
            self.step += 1
            bsize = x.size(0)
            h1 = T.zeros(1, bsize, self.rnn_dims, device=device)
            h2 = T.zeros(1, bsize, self.rnn_dims, device=device)
            mels, aux = self.upsample(mels)
            aux_idx = [self.aux_dims * i for i in range(5)]
            a1 = aux[:, :, aux_idx[0]:aux_idx[1]]
            a2 = aux[:, :, aux_idx[1]:aux_idx[2]]
            a3 = aux[:, :, aux_idx[2]:aux_idx[3]]
            a4 = aux[:, :, aux_idx[3]:aux_idx[4]]
            x = T.cat([x.unsqueeze(-1), mels, a1], dim=2)
            x = self.I(x)
            res = x
            x, _ = self.rnn1(x, h1)
            x = x + res
            res = x
            x = T.cat([x, a2], dim=2)
            x, _ = self.rnn2(x, h2)
            x = x + res
            x = T.cat([x, a3], dim=2)
            x = F.relu(self.fc1(x))
            x = T.cat([x, a4], dim=2)
            x = F.relu(self.fc2(x))
            return self.fc3(x)

    def log_sum_exp(x):
        axis = len(x.size()) - 1
        m, _ = T.max(x, dim=axis)
        m2, _ = T.max(x, dim=axis, keepdim=True)
        return m + T.log(T.sum(T.exp(x - m2), dim=axis))

    def discretized_mix_logistic_loss(y_hat, y, num_classes=65536, log_scale_min=None, reduce=True):
        if log_scale_min is None:
            log_scale_min = float(np.log(1e-14))
        y_hat = y_hat.permute(0, 2, 1)
        assert y_hat.dim() == 3
        assert y_hat.size(1) % 3 == 0
        nr_mix = y_hat.size(1) // 3
        y_hat = y_hat.transpose(1, 2)
        logit_probs = y_hat[:, :, :nr_mix]
        means = y_hat[:, :, nr_mix:2 * nr_mix]
        log_scales = T.clamp(y_hat[:, :, 2 * nr_mix:3 * nr_mix], min=log_scale_min)
        y = y.expand_as(means)
        centered_y = y - means
        inv_stdv = T.exp(-log_scales)
        plus_in = inv_stdv * (centered_y + 1. / (num_classes - 1))
        cdf_plus = T.sigmoid(plus_in)
        min_in = inv_stdv * (centered_y - 1. / (num_classes - 1))
        cdf_min = T.sigmoid(min_in)
        log_cdf_plus = plus_in - F.softplus(plus_in)
        log_one_minus_cdf_min = -F.softplus(min_in)
        cdf_delta = cdf_plus - cdf_min
        mid_in = inv_stdv * centered_y
        log_pdf_mid = mid_in - log_scales - 2. * F.softplus(mid_in)
        inner_inner_cond = (cdf_delta > 1e-5).float()
        inner_inner_out = inner_inner_cond * T.log(T.clamp(cdf_delta, min=1e-12)) + (1. - inner_inner_cond) * (
            log_pdf_mid - np.log((num_classes - 1) / 2))
        inner_cond = (y > 0.999).float()
        inner_out = inner_cond * log_one_minus_cdf_min + (1. - inner_cond) * inner_inner_out
        cond = (y < -0.999).float()
        log_probs = cond * log_cdf_plus + (1. - cond) * inner_out
        log_probs = log_probs + F.log_softmax(logit_probs, -1)
        if reduce:
            return -T.mean(log_sum_exp(log_probs))
        return -log_sum_exp(log_probs).unsqueeze(-1)

    model = WaveRNN(rnn_dims=6, fc_dims=5, bits=4, pad=1, upsample_factors=(2, 2), feat_dims=3, compute_dims=4,
                    res_out_dims=8, res_blocks=1, mode=mode)
    if sd is None:
        return _state(model)
    _load(T, model, sd)
    optimizer = T.optim.Adam(model.parameters(), lr=1e-2)
    loss_func = F.cross_entropy if mode == 'RAW' else discretized_mix_logistic_loss
    out = []
    for x, m, y in batches:
        x, m, y = T.tensor(x), T.tensor(m), T.tensor(y if mode == 'RAW' else (y * 2. / 15 - 1))
        y_hat = model(x, m)
        if model.mode == 'RAW':
            y_hat = y_hat.transpose(1, 2).unsqueeze(-1)
        elif model.mode == 'MOL':
            y = y.float()
        y = y.unsqueeze(-1)
        loss = loss_func(y_hat, y)
        optimizer.zero_grad()
        loss.backward()
        grad_norm = T.nn.utils.clip_grad_norm_(model.parameters(), 4)
        if np.isnan(grad_norm):
            print('grad_norm was NaN!')
        optimizer.step()
        out += [loss, y_hat, grad_norm, _grads(model)]
    out.append(model.state_dict())
    return out


@pytest.mark.filterwarnings("ignore:__array_wrap__ must accept context:DeprecationWarning")  # (torch's, np.isnan)
@pytest.mark.parametrize("mode", ["RAW", "MOL"])
def test_wavernn_upsample_network_and_mixture_of_logistics(torch, mode):
    rng = _rng(16)
    batches = [(rng.uniform(-1, 1, (2, 12)), rng.standard_normal((2, 3, 5)), rng.integers(0, 16, (2, 12)))
               for _ in range(2)]
    batches[1][2][0, :3] = [0, 15, 15]  # (the edge bins: the MOL loss's y < -0.999 and y > 0.999 branches)
    _run(wavernn, batches, mode)
