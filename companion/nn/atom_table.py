"""The CGCNN atom encoding as a layer: atomic numbers -> fixed 92-d feature vectors."""

from __future__ import annotations

import torch
from torch import nn

from companion.errors import StructureError
from companion.graphs.features import CGCNN_DIM, cgcnn_table


class CGCNNAtomTable(nn.Module):
    """Look up the 92-d CGCNN encoding of each atom (Xie & Grossman 2018; used by CGCNN and
    ALIGNN). The table is a fixed, non-persistent buffer: it moves with ``.to(device)`` but
    is not part of the state dict.

    Shapes:
        z [n_atoms] int64 atomic numbers -> [n_atoms, 92] float.
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("table", torch.tensor(cgcnn_table()), persistent=False)  # [101, 92]
        assert self.table.size(1) == CGCNN_DIM

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if not bool(((z >= 1) & (z < self.table.size(0))).all()):
            raise StructureError(f"the CGCNN table covers Z = 1..{self.table.size(0) - 1}, "
                                 f"got Z in {int(z.min())}..{int(z.max())}.")
        return self.table[z]  # [n_atoms, 92]
