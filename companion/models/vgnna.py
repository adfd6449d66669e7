r"""VGNNA: k-MVN with an attention block after its first gated layer.

Seed: hasson827/VGNNA (MIT), "kMVN + graph-transformer attention", reported to lower the
mean test BandLoss on the Petretto DFPT split from 0.0047 to 0.0040 with 139,120 parameters
instead of k-MVN's 123,208, and said to stay E(3)-equivariant because "attention operates
only on scalar features". This file is written anew; the network is
:class:`companion.models.kmvn.KMVN` (same graph, convolutions, gates, blocks and bands) with
one block inserted by :meth:`KMVN.after_gate` after gated layer 0 (the code inserts one after
every gated layer but the last; with two layers that is one):

- ``attention="faithful"`` (:class:`companion.nn.vnode_attention.FlatAttention`): what the
  seed's code does, on the flat 36-vector ``4x0e + 4x1o + 4x2e``: pre-LayerNorm, 4 heads of
  9, one softmax over all messages of a material, values of the destination node, output
  projection, LayerNorm and a feed-forward 36 -> 144 -> 36. 15,912 parameters: 139,120 in
  all, as published. LayerNorm and the biases act on the ``l = 1, 2`` components as if they
  were scalars, so this variant is **not** equivariant (``tests/models/test_vgnna.py``
  measures the violation).
- ``attention="equivariant"`` (the default; :class:`companion.nn.vnode_attention
  .InvariantAttention`): logits and values from invariants only (the ``0e`` channels and the
  norms of the others), softmax per destination node, a radial bias from the edge length,
  a residual update of the ``0e`` channels and optional sigmoid gates on the others. It
  starts as the identity, so ``VGNNA`` with k-MVN weights loaded
  (:meth:`VGNNA.load_kmvn_state_dict`) predicts exactly what that k-MVN predicts, and
  training adds attention from there.

Shapes: as :class:`~companion.models.kmvn.KMVN` (a batch of
:class:`~companion.graphs.virtual_nodes.KMVNGraph` -> per material [n_q, 3N] in 1000 cm^-1).

Example::

    model = VGNNA(VGNNAConfig(attention="equivariant"))
    model.load_kmvn_state_dict(pretrained_kmvn().state_dict())   # start from the authors'
    bands = model(Batch.from_data_list([kmvn_graph(structure, qpoints=q)]))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from companion.models.kmvn import KMVN, KMVNConfig, NodeContext
from companion.nn.vnode_attention import FlatAttention, InvariantAttention

__all__ = ["VGNNA", "VGNNAConfig", "vgnna_authors_to_companion"]


@dataclass
class VGNNAConfig(KMVNConfig):
    """k-MVN's hyperparameters (:class:`~companion.models.kmvn.KMVNConfig`) plus the block.

    Attributes:
        attention: ``"equivariant"`` (invariant inputs, this course's design) or
            ``"faithful"`` (the VGNNA code's flat attention, not equivariant).
        heads: attention heads (faithful: 4 of ``36 / 4 = 9``).
        head_dim: width of one head (equivariant variant only).
        dropout: dropout on the attention weights (and, faithful, in the feed-forward);
            None: the seed's 0.1 for ``"faithful"``, 0 for ``"equivariant"``.
        radial_bias: equivariant variant: a bias of the logits from the edge length.
        gates: equivariant variant: sigmoid gates on the ``l > 0`` channels.
    """

    attention: Literal["equivariant", "faithful"] = "equivariant"
    heads: int = 4
    head_dim: int = 8
    dropout: float | None = None
    radial_bias: bool = True
    gates: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.attention not in ("equivariant", "faithful"):
            raise ValueError(f"VGNNAConfig.attention={self.attention!r}; use 'equivariant' "
                             "or 'faithful'")
        if self.dropout is None:
            self.dropout = 0.1 if self.attention == "faithful" else 0.0
        if self.n_layers < 2:
            raise ValueError("VGNNA inserts attention after a gated layer that is not the "
                             f"last: needs n_layers >= 2, got {self.n_layers}")


class VGNNA(KMVN):
    """k-MVN plus attention after gated layer 0 (module docstring)."""

    config_class = VGNNAConfig
    config: VGNNAConfig

    def __init__(self, config: VGNNAConfig | None = None) -> None:
        config = config or VGNNAConfig()
        super().__init__(config)
        previous = torch.get_default_dtype()
        torch.set_default_dtype(getattr(torch, config.dtype))
        try:
            irreps = self.gates[0].irreps_out  # 4x0e+4x1o+4x2e with the defaults
            if config.attention == "faithful":
                self.attention: nn.Module = FlatAttention(irreps.dim, config.heads,
                                                          config.dropout)
            else:
                self.attention = InvariantAttention(
                    irreps, config.heads, config.head_dim, config.n_basis,
                    config.radial_bias, config.gates, config.dropout)
        finally:
            torch.set_default_dtype(previous)

    def after_gate(self, layer: int, x: torch.Tensor, ctx: NodeContext) -> torch.Tensor:
        """The attention block after gated layer 0; ``x`` [n_computed, 36]."""
        if layer != 0:
            return x
        if isinstance(self.attention, FlatAttention):
            return self.attention(x, ctx.src, ctx.dst, ctx.graph[ctx.src])
        return self.attention(x, ctx.src, ctx.dst, ctx.radial)

    def load_kmvn_state_dict(self, state: Mapping[str, torch.Tensor]) -> None:
        """Load a :class:`KMVN` state dict (ours, e.g. ``pretrained_kmvn().state_dict()``);
        the attention block keeps its own parameters.

        Raises:
            KeyError: the keys are not exactly k-MVN's (named).
            ValueError: a tensor's shape differs (a k-MVN of another size).
        """
        want = {k for k in self.state_dict() if not k.startswith("attention.")}
        missing, unexpected = sorted(want - set(state)), sorted(set(state) - want)
        if missing or unexpected:
            raise KeyError(f"not a k-MVN state dict of this model: missing {missing[:5]}"
                           f"{' ...' if len(missing) > 5 else ''}, unexpected "
                           f"{unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}")
        try:
            self.load_state_dict(dict(state), strict=False)
        except RuntimeError as exc:
            raise ValueError(f"the k-MVN weights do not fit this VGNNA (build it with the "
                             f"k-MVN's mul, lmax, n_layers, n_basis, radial_neurons, "
                             f"embed_dim): {exc}") from None

    def load_initial_state(self, state: Mapping[str, torch.Tensor]) -> None:
        """Start from ``state``: a VGNNA's (loaded whole) or a k-MVN's (the attention block
        keeps its own parameters): ``python -m companion train --init``."""
        if any(k.startswith("attention.") for k in state):
            self.load_state_dict(dict(state))
        else:
            self.load_kmvn_state_dict(state)

    def load_authors_state_dict(self, state: Mapping[str, torch.Tensor]) -> None:
        """The authors' k-MVN checkpoint (their names), attention left as it is."""
        from companion.models.kmvn import authors_to_companion

        self.load_kmvn_state_dict(authors_to_companion(state, self.config.n_layers))


_ATTENTION_NAMES = {"out_proj": "out"}


def vgnna_authors_to_companion(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename the keys of a state dict of the VGNNA code's ``GraphNetwork_kMVN`` with
    ``use_attention=True`` and two gated layers to :class:`VGNNA` (``attention="faithful"``).

    Theirs: ``layers.0`` (convolution + gate), ``layers.1`` (``SelfAttentionLayer``: ``qkv``,
    ``out_proj``, ``norm1``, ``norm2``, ``ffn.0``, ``ffn.3``), ``layers.2`` (convolution +
    gate), ``layers.3`` (the last convolution). The attention keys go to ``attention.*``
    (``out_proj`` -> ``out``); the others are k-MVN's, renamed as
    :func:`companion.models.kmvn.authors_to_companion` does once ``layers.1`` is removed.
    """
    from companion.models.kmvn import authors_to_companion

    kmvn, attention = {}, {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] != "layers":
            kmvn[key] = value
            continue
        k = int(parts[1])
        if k == 1:
            name = _ATTENTION_NAMES.get(parts[2], parts[2])
            attention[".".join(["attention", name, *parts[3:]])] = value
        else:
            kmvn[".".join(["layers", str(k if k == 0 else k - 1), *parts[2:]])] = value
    return {**authors_to_companion(kmvn, n_layers=2), **attention}
