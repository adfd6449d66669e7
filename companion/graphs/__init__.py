"""Crystal and molecular graphs: neighbor lists, graph policies, line graphs, atom features.

Schema of every graph: :mod:`companion.graphs.keys`.
"""

from companion.graphs.arrays import atoms_of, cell_edges, edge_arrays
from companion.graphs.atoms import AtomsArrays, as_atoms_arrays
from companion.graphs.build import DEFAULTS, CrystalGraph, to_graph
from companion.graphs.dataset import GraphDataset
from companion.graphs.features import atom_features
from companion.graphs.geometry import edge_vectors, graph_index, num_graphs
from companion.graphs.line_graph import bond_cosines, line_graph
from companion.graphs.neighbors import NeighborList, neighbor_list

__all__ = [
    "DEFAULTS",
    "AtomsArrays",
    "CrystalGraph",
    "GraphDataset",
    "NeighborList",
    "as_atoms_arrays",
    "atoms_of",
    "atom_features",
    "bond_cosines",
    "cell_edges",
    "edge_arrays",
    "edge_vectors",
    "graph_index",
    "line_graph",
    "neighbor_list",
    "num_graphs",
    "to_graph",
]
