"""
The Llama forward used for training: the same math as tools/fixtures/reference_model.py (which is the
spec, in float64) rearranged for CPU speed in float32: rotary tables and the causal mask are built once,
and grouped-query attention folds the query heads that share a kv head into the row dimension
(q (B, NKV, rep*T, HS) against k (B, NKV, T, HS)) instead of repeating k and v.
Weights are a dict of HF names -> tensors, exactly as reference_model and the app's weights.ts use them.
train.py checks this forward against reference_model.forward before it trains.
"""
import torch


class Tables:
    """Per-context constants: rotary cos/sin (T, HS) and the additive causal mask (rep*T, T)."""

    def __init__(self, cfg, T):
        HS = cfg['hidden_size'] // cfg['num_attention_heads']
        inv = 1.0 / (cfg['rope_theta'] ** (torch.arange(0, HS, 2, dtype=torch.float64) / HS))
        ang = torch.arange(T, dtype=torch.float64)[:, None] * inv  # (T, HS/2)
        ang = torch.cat([ang, ang], dim=-1)  # rotate-half layout
        self.cos, self.sin = ang.cos().float(), ang.sin().float()
        # the 1/sqrt(HS) attention scale folded into q's rotation (rope is linear): no (T, T)-sized multiply
        self.q_cos, self.q_sin = self.cos * HS ** -0.5, self.sin * HS ** -0.5
        rep = cfg['num_attention_heads'] // cfg['num_key_value_heads']
        causal = torch.full((T, T), float('-inf')).triu(1)
        self.mask = causal.repeat(rep, 1)  # row r*T + i is query position i of the r-th head in the group
        self.T = T


def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def rope(x, cos, sin):
    # x (..., T, HS)
    h = x.shape[-1] // 2
    return x * cos + torch.cat([-x[..., h:], x[..., :h]], dim=-1) * sin


def forward(cfg, w, ids, tables):
    """ids (B, T) -> logits (B, T, V) float32; no padding (every training window is full)."""
    B, T = ids.shape
    C, NH, NKV, eps = cfg['hidden_size'], cfg['num_attention_heads'], cfg['num_key_value_heads'], cfg['rms_norm_eps']
    HS, rep = C // NH, NH // NKV
    if T != tables.T:
        raise ValueError('tables built for another T')
    x = w['model.embed_tokens.weight'][ids]
    for i in range(cfg['num_hidden_layers']):
        p = f'model.layers.{i}.'
        h = rms_norm(x, w[p + 'input_layernorm.weight'], eps)
        q = (h @ w[p + 'self_attn.q_proj.weight'].T).view(B, T, NKV, rep, HS).permute(0, 2, 3, 1, 4)  # (B, NKV, rep, T, HS)
        k = (h @ w[p + 'self_attn.k_proj.weight'].T).view(B, T, NKV, HS).transpose(1, 2)  # (B, NKV, T, HS)
        v = (h @ w[p + 'self_attn.v_proj.weight'].T).view(B, T, NKV, HS).transpose(1, 2)
        q = rope(q, tables.q_cos, tables.q_sin).reshape(B, NKV, rep * T, HS)  # already scaled by HS^-1/2
        k = rope(k, tables.cos, tables.sin)
        att = torch.softmax(torch.baddbmm(tables.mask, q.view(-1, rep * T, HS), k.reshape(-1, T, HS).transpose(1, 2)), dim=-1)  # (B*NKV, rep*T, T)
        o = (att @ v.reshape(-1, T, HS)).view(B, NKV, rep, T, HS).permute(0, 3, 1, 2, 4).reshape(B, T, C)  # head = kv*rep + r
        x = x + o @ w[p + 'self_attn.o_proj.weight'].T
        h = rms_norm(x, w[p + 'post_attention_layernorm.weight'], eps)
        gate = h @ w[p + 'mlp.gate_proj.weight'].T
        up = h @ w[p + 'mlp.up_proj.weight'].T
        x = x + (torch.nn.functional.silu(gate) * up) @ w[p + 'mlp.down_proj.weight'].T
    x = rms_norm(x, w['model.norm.weight'], eps)
    return x @ w['model.embed_tokens.weight'].T  # tied lm_head
