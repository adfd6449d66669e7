# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: -all
#     formats: solutions//_solutions.ipynb,src//py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · Crystals as graphs (solutions)
#
# A graph neural network sees a crystal as a graph: atoms are nodes, and an edge joins two
# atoms that are close. A crystal is periodic, so "close" must include the periodic images of
# every atom, and the choice of edges (a radius, or the *k* nearest neighbors) is part of the
# model. This notebook builds those graphs from real Materials Project structures, looks at
# them, and checks where the obvious shortcuts go wrong.
#
# **Learning goals.** After this notebook you can
#
# 1. load a crystal data set with its targets and units, and cite it;
# 2. compute a periodic neighbor list and read the graph schema of the course
#    (`edge_index`, `edge_shift`, edge vectors recomputed from positions);
# 3. compare the edge policies of CGCNN and ALIGNN with a plain radius graph;
# 4. expand distances in a Gaussian basis and build atom features;
# 5. build a line graph and compute bond angles from it;
# 6. explain why the minimum-image convention undercounts neighbors in small, skewed cells;
# 7. batch crystal graphs (and their line graphs) with PyTorch Geometric.
#
# **Runtime.** About a minute on 2 CPU cores (Binder) and well under 2 GB of memory; with the
# environment variable `COMPANION_FAST=1` it uses fewer structures and runs in seconds.
#
# **Binder / offline.** Nothing here needs the internet: the data ship with the course
# (`data/mp_eform.npz`) and every figure is drawn locally. Open the notebook in JupyterLab
# (Binder does so); the 3D views need WebGL in the browser. If a widget does not show, the
# numbers printed next to it tell the same story.
#
# Exercises are at the end (section 9); each has a self-check that prints *correct* or a hint.

# %%
import os
import textwrap

import numpy as np
import pandas as pd
import torch
from torch_geometric.loader import DataLoader

from companion import viz
from companion.data import load
from companion.exercises import ch01, show_choices
from companion.graphs import (
    atom_features,
    bond_cosines,
    edge_vectors,
    line_graph,
    neighbor_list,
    to_graph,
)
from companion.nn.radial import GaussianExpansion

FAST = os.environ.get("COMPANION_FAST") == "1"  # CI: fewer structures, same code
N_STATS = 40 if FAST else 300  # structures for the policy statistics (section 4)
N_POOL = 8 if FAST else 30  # structures in the explorer's histogram (section 4)
N_ANGLES = 15 if FAST else 100  # structures for the bond-angle histogram (section 6)
rng = np.random.default_rng(0)
print(f"FAST mode: {FAST}")

# %% [markdown]
# ## 1. Data: formation energies from the Materials Project
#
# The data set of this notebook (and of notebooks 02 and 03) holds 3938 crystal structures
# from the Materials Project with their formation energy per atom, computed with density
# functional theory (PBE). It was assembled by Faber, Lindmaa, von Lilienfeld and Armiento
# (FLLA 2015) to compare structure representations for machine learning, and ships with the
# course in a compact array format (`data/README.md` tells where it comes from).
#
# The **formation energy per atom** of a compound with $N$ atoms, $n_e$ of element $e$, is its
# energy relative to the elements in their reference states,
#
# $$E_f = \frac{E(\text{compound}) - \sum_e n_e\, \mu_e}{N} \quad (\text{eV/atom}),$$
#
# negative for a compound that is stable against decomposing into its elements. The **energy
# above the convex hull**, `e_above_hull`, is how far it lies above the most stable mixture of
# competing phases (0 for a thermodynamically stable compound).

# %%
ds = load("mp_eform")
print(ds)
print("\nPlease cite:", textwrap.fill(ds.citation, 90, subsequent_indent="  "))

# %%
records = pd.DataFrame([
    {
        "material_id": ds[i].material_id,
        "formula": ds[i].formula,
        "atoms in cell": int(ds.n_atoms[i]),
        f"E_f ({ds.units['formation_energy_per_atom']})":
            ds[i].targets["formation_energy_per_atom"],
        f"E_hull ({ds.units['e_above_hull']})": ds[i].targets["e_above_hull"],
        "split": ds[i].split,
    }
    for i in range(8)
])
records

# %%
viz.target_histogram(ds.target("formation_energy_per_atom"), "formation energy",
                     ds.units["formation_energy_per_atom"])

# %% [markdown]
# One record in detail: cubic perovskite CaTiO3 (`mp-5827`), 5 atoms in a cube of 3.89 Å: Ti
# on the corners, Ca in the center, O on the edge centers. `record.structure` is a pymatgen
# `Structure` built on first access; `ds.arrays(i)` gives plain `(z, pos, cell)` arrays, the
# fast path used to build many graphs.

# %%
record = ds[int(np.flatnonzero(ds.material_ids == "mp-5827")[0])]
structure = record.structure
print(record)
print(structure)

# %% [markdown]
# ## 2. The crystal in 3D
#
# `viz.structure_view` draws the unit cell and, by default, the periodic images of the atoms
# that sit on its faces, edges and corners, so that you see the full TiO6 octahedra. The bonds
# are a drawing aid (pairs closer than 1.15 times the nearest-neighbor distance), not the
# graph. Rotate with the mouse, zoom with the wheel.

# %%
viz.structure_view(structure)

# %% [markdown]
# The same crystal as a 2×2×2 block of unit cells (the outline is still one unit cell, the
# repeat unit). A graph must describe this infinite crystal while storing only the 5 atoms of
# the cell.

# %%
viz.structure_view(structure, supercell=(2, 2, 2), boundary=False)

# %% [markdown]
# ## 3. From a periodic structure to a graph
#
# The cell has lattice vectors $\mathbf a_1, \mathbf a_2, \mathbf a_3$, the rows of the matrix
# $L$. Every atom $j$ has images at $\mathbf r_j + \mathbf S L$ for every integer vector
# $\mathbf S \in \mathbb Z^3$. An edge $j \to i$ joins atom $i$ (the center, which receives
# the message) to one image of atom $j$ (the neighbor):
#
# $$\mathbf r_{ij} = \mathbf r_j + \mathbf S_{ij} L - \mathbf r_i, \qquad
# d_{ij} = \lVert \mathbf r_{ij} \rVert \le r_c .$$
#
# Two images of the same atom $j$ are two different edges (different $\mathbf S$), and an
# atom can even be its own neighbor ($j = i$, $\mathbf S \ne 0$) when the cell is small.
#
# `neighbor_list` finds all pairs within the cutoff $r_c$ in float64 (with the vesin library),
# sorted by center and distance.

# %%
cutoff = 3.0  # Å: Ti-O (1.94 Å) and Ca-O (2.75 Å) bonds
nl = neighbor_list(structure, cutoff)
symbols = [site.specie.symbol for site in structure]
print(f"{len(nl)} directed pairs within {cutoff} Å")
print("neighbors per atom:", dict(zip([f"{i}:{s}" for i, s in enumerate(symbols)],
                                      nl.counts(len(structure)).tolist(), strict=True)))
pd.DataFrame({
    "center i (dst)": [f"{i}:{symbols[i]}" for i in nl.dst],
    "neighbor j (src)": [f"{j}:{symbols[j]}" for j in nl.src],
    "shift S": [tuple(s) for s in nl.shift.tolist()],
    "distance (Å)": nl.dist.round(4),
}).head(10)

# %% [markdown]
# `to_graph` turns the neighbor list into a `CrystalGraph`, a PyTorch Geometric `Data` with the
# keys of the course's graph schema (`companion/graphs/keys.py`):
#
# | key | shape | meaning |
# |-----|-------|---------|
# | `z` | [n_atoms] | atomic numbers |
# | `pos` | [n_atoms, 3] | Cartesian positions, Å |
# | `cell` | [1, 3, 3] | lattice vectors as rows, Å |
# | `edge_index` | [2, n_edges] | row 0 = source $j$ (neighbor), row 1 = target $i$ (center) |
# | `edge_shift` | [n_edges, 3] | integer lattice translation $\mathbf S$ of the source image |
# | `lg_edge_index` | [2, n_triplets] | optional line graph (section 6) |
#
# The graph stores **no distances**: a model recomputes
# `vec = pos[src] + edge_shift @ cell - pos[dst]` inside its `forward`, so that gradients
# reach the positions and the cell (forces and stress come from autograd).

# %%
graph = to_graph(structure, "radius", cutoff=cutoff, dtype=torch.float64)
print(graph)

src, dst = graph.edge_index  # [n_edges] each
vec = graph.pos[src] + graph.edge_shift @ graph.cell[0] - graph.pos[dst]  # [n_edges, 3] Å
print("largest difference from the neighbor list:",
      (vec - torch.from_numpy(nl.vec)).abs().max().item(), "Å")
vec_pkg, dist_pkg = edge_vectors(graph)  # the package's version, works on batches too
print("edge_vectors agrees:", torch.allclose(vec, vec_pkg))

# %% [markdown]
# The graph drawn on the structure: each gray line goes from a center atom to the image of its
# neighbor (faded spheres are images outside the cell). The six edges into the Ti atom (atom 4)
# are highlighted: the TiO6 octahedron. Hover over atoms and edges for indices, elements,
# distances and shifts.

# %%
viz.graph_figure(structure, graph, highlight=4)

# %% [markdown]
# ## 4. Choosing the edges: radius, CGCNN, ALIGNN
#
# Three policies, all built from the same neighbor list (`companion/graphs/build.py`):
#
# - **radius**: every pair with $d_{ij} \le r_c$ (here 5 Å by default). The number of
#   neighbors grows like $\tfrac{4}{3}\pi r_c^3 \rho$ with the atom density $\rho$.
# - **CGCNN** (Xie & Grossman, PRL 120, 145301, 2018): the $k = 12$ nearest neighbors within
#   8 Å, *strictly* 12; an atom with fewer gets padding edges (`edge_pad`) that the model
#   treats as a distance of $r_c + 1$.
# - **ALIGNN** (Choudhary & DeCost, npj Comput. Mater. 7, 185, 2021): the 12 nearest, keeping
#   the *whole shell* of the 12th neighbor (all equally distant atoms), raising the cutoff until
#   every atom has 12; then symmetrized, so $j \to i$ is an edge whenever $i \to j$ is.
#
# The explorer below rebuilds the graph of CaTiO3 for the policy and the sliders you choose,
# and the histogram of neighbors per atom over a few more structures. Things to try: at which
# cutoff does Ti get its 6 oxygens? Why does CGCNN with $k = 12$ cut through a shell of CaTiO3?
# What does ALIGNN do with the same $k$? (Click an atom to highlight its edges.)

# %%
pool_idx = rng.choice(ds.split["train"], N_POOL, replace=False)
explorer = viz.graph_explorer(structure, pool=[ds.arrays(i) for i in pool_idx],
                              name=record.formula, cutoff=3.0, k=12)
explorer

# %% [markdown]
# Over more structures (a random sample of the training split), with each policy's defaults.
# The histogram counts real neighbors (CGCNN's padding left out).

# %%
stats_idx = rng.choice(ds.split["train"], N_STATS, replace=False)
counts = {"radius": [], "cgcnn": [], "alignn": []}
n_edges = {policy: 0 for policy in counts}
n_pad = 0
for i in stats_idx:
    arrays = ds.arrays(i)  # (z, pos, cell), no pymatgen needed
    for policy in counts:
        g = to_graph(arrays, policy, allow_isolated=True)
        real = ~g.edge_pad if policy == "cgcnn" else torch.ones(g.num_edges, dtype=torch.bool)
        counts[policy].append(torch.bincount(g.edge_index[1][real], minlength=g.num_nodes))
        n_edges[policy] += g.num_edges
        n_pad += int((~real).sum())
counts = {policy: torch.cat(c).numpy() for policy, c in counts.items()}
n_atoms_total = len(counts["radius"])
pd.DataFrame({
    "edges per atom": {p: n_edges[p] / n_atoms_total for p in counts},
    "fewest real neighbors": {p: c.min() for p, c in counts.items()},
    "most real neighbors": {p: c.max() for p, c in counts.items()},
}).assign(**{"padding edges": [0, n_pad, 0]})

# %%
viz.neighbor_count_figure(counts, title=f"neighbors per atom, {len(stats_idx)} structures, "
                                         "default settings of each policy")

# %% [markdown]
# ## 5. Features of atoms and of edges
#
# **Atoms.** CGCNN encodes each element as 92 binary entries: one-hot bins of the group, the
# period, the electronegativity, the covalent radius, the number of valence electrons, the
# first ionization energy, the electron affinity, the block and the atomic volume.

# %%
x = atom_features(graph.z.numpy(), kind="cgcnn")  # [n_atoms, 92]
print("node features:", x.shape)
for i, z in enumerate(graph.z.tolist()):
    print(f"atom {i} ({symbols[i]:>2s}, Z = {z:2d}): bins set at {np.flatnonzero(x[i]).tolist()}")

# %% [markdown]
# **Edges.** A distance is one number; a network learns better from a smooth vector. CGCNN
# expands it in Gaussians centered on a grid $\mu_k$ from 0 to 8 Å (step 0.2 Å, width
# $\sigma = 0.2$ Å, so $K = 41$):
#
# $$e_k(d) = \exp\!\left(-\frac{(d - \mu_k)^2}{\sigma^2}\right), \qquad k = 0, \dots, K-1 .$$
#
# A distance lights up the few Gaussians near it; two close distances give overlapping, similar
# vectors. A narrower $\sigma$ separates distances better but needs more centers.

# %%
shells = np.unique(nl.dist.round(3))  # the distinct distances in CaTiO3 up to 3 Å
print("distances in CaTiO3 within 3 Å:", shells, "Å")
viz.gaussian_expansion_figure(distances=shells)

# %%
expand = GaussianExpansion(start=0.0, stop=8.0, step=0.2)  # CGCNN's settings
edge_attr = expand(dist_pkg)  # [n_edges, 41]
print("edge features:", tuple(edge_attr.shape), "| centers:", expand.n_basis)

# %% [markdown]
# ## 6. Line graphs and bond angles
#
# Distances alone do not fix a structure's geometry; angles help. ALIGNN adds a **line graph**:
# its nodes are the edges of the crystal graph, and it joins edge $e_1 = (k \to j)$ to edge
# $e_2 = (j \to i)$ when they share atom $j$. Each such *triplet* carries the angle at $j$:
#
# $$\cos\theta_{kji} = \frac{\mathbf r_{jk} \cdot \mathbf r_{ji}}
# {\lVert \mathbf r_{jk}\rVert\, \lVert \mathbf r_{ji}\rVert}, \qquad
# \mathbf r_{jk} = \texttt{vec}[e_1], \quad \mathbf r_{ji} = -\texttt{vec}[e_2].$$
#
# A **backtracking** triplet pairs an edge with its own reverse ($k = i$, same image): its angle
# is 0. Atom $j$ with $n_{\text{in}}(j)$ incoming and $n_{\text{out}}(j)$ outgoing edges makes
# $n_{\text{in}}(j)\, n_{\text{out}}(j)$ triplets with backtracking.
#
# First the TiO6 octahedra alone (cutoff 2 Å keeps only the Ti-O bonds).

# %%
# Ca (2.75 Å from its O) gets no edge at 2 Å: allow_isolated says that is intended
g_ti_o = to_graph(structure, "radius", cutoff=2.0, line_graph=True, allow_isolated=True,
                  dtype=torch.float64)
n_in = torch.bincount(g_ti_o.edge_index[1], minlength=g_ti_o.num_nodes)
n_out = torch.bincount(g_ti_o.edge_index[0], minlength=g_ti_o.num_nodes)
print(f"{g_ti_o.num_edges} edges; {g_ti_o.lg_edge_index.shape[1]} triplets with backtracking;"
      f" sum of n_in * n_out = {int((n_in * n_out).sum())}")
no_back = line_graph(g_ti_o.edge_index, g_ti_o.edge_shift, backtracking=False)
print(f"{no_back.shape[1]} triplets without backtracking")
vec_ti_o, _ = edge_vectors(g_ti_o)
cos = bond_cosines(vec_ti_o, torch.from_numpy(no_back))
angles, how_many = np.unique(np.degrees(np.arccos(cos.numpy())).round(2), return_counts=True)
print("angles (degrees):", dict(zip(angles.tolist(), how_many.tolist(), strict=True)))

# %% [markdown]
# Now the angles in many structures, with ALIGNN's graph (12 nearest neighbors, whole shells).

# %%
angle_idx = rng.choice(ds.split["train"], N_ANGLES, replace=False)
cosines = {"with backtracking": [], "without backtracking": []}
for i in angle_idx:
    g = to_graph(ds.arrays(i), "alignn", line_graph=True, backtracking=True)
    v, _ = edge_vectors(g)
    cos = bond_cosines(v, g.lg_edge_index)  # [n_triplets]
    lg = line_graph(g.edge_index, g.edge_shift, backtracking=False)
    cosines["with backtracking"].append(cos)
    cosines["without backtracking"].append(bond_cosines(v, torch.from_numpy(lg)))
cosines = {label: torch.cat(c).numpy() for label, c in cosines.items()}
print({label: len(c) for label, c in cosines.items()}, "triplets")
viz.bond_angle_figure(cosines)

# %% [markdown]
# The spike at 0° is the backtracking triplets: one per edge, carrying no geometry. Without
# them the histogram shows the bond angles of real structures (peaks near 60°, 90°, 109.5°,
# 120° and 180° from close packing, octahedra, tetrahedra, planar and linear motifs).

# %% [markdown]
# ## 7. What goes wrong with the minimum-image convention
#
# Molecular dynamics codes often use the **minimum-image convention**: for each pair $(i, j)$
# keep only the nearest image of $j$, found by rounding the fractional coordinate difference.
# It is right only when no atom has two images within the cutoff, i.e. when the cutoff is
# below half the smallest **perpendicular width** of the cell,
#
# $$w_1 = \frac{V}{\lVert \mathbf a_2 \times \mathbf a_3 \rVert}, \quad
# w_2 = \frac{V}{\lVert \mathbf a_3 \times \mathbf a_1 \rVert}, \quad
# w_3 = \frac{V}{\lVert \mathbf a_1 \times \mathbf a_2 \rVert}, \qquad
# r_c < \tfrac{1}{2} \min_k w_k ,$$
#
# and, in a skewed cell, rounding may not even find the nearest image. Crystal cells are
# often small and skewed. Take TaS2 (`mp-1411`): 3 atoms in a triclinic cell.

# %%
tas2_record = ds[int(np.flatnonzero(ds.material_ids == "mp-1411")[0])]
z_t, pos_t, cell_t = ds.arrays(tas2_record.index)
symbols_t = [f"{i}:{site.specie.symbol}" for i, site in enumerate(tas2_record.structure)]
print("atoms:", symbols_t)
volume = abs(np.linalg.det(cell_t))
widths = [volume / np.linalg.norm(np.cross(cell_t[(k + 1) % 3], cell_t[(k + 2) % 3]))
          for k in range(3)]
print(tas2_record.structure.lattice)
print("perpendicular widths (Å):", np.round(widths, 3))
r_c = 5.0  # Å, the radius policy's default
print(f"cutoff {r_c} Å; the minimum image is safe only below {min(widths) / 2:.2f} Å")


# %% [markdown]
# The naive count, written out by hand (teaching code, do not use it):

# %%
def minimum_image_pairs(z, pos, cell, cutoff):
    '''Pairs (i, j, S) within the cutoff, keeping one image per pair: the WRONG way.'''
    inv_cell = np.linalg.inv(cell)
    pairs = []
    for i in range(len(z)):
        for j in range(len(z)):
            if i == j:
                continue  # the nearest image of an atom is itself: skipped
            frac = (pos[j] - pos[i]) @ inv_cell  # [3] fractional difference
            shift = -np.round(frac)  # bring it into [-1/2, 1/2]
            if np.linalg.norm((frac + shift) @ cell) <= cutoff:
                pairs.append((i, j, tuple(int(s) for s in shift)))
    return pairs


rows = []
for r in (2.5, 3.5, r_c):
    naive_r = [i for i, _, _ in minimum_image_pairs(z_t, pos_t, cell_t, r)]
    rows.append({"cutoff (Å)": r,
                 "minimum image": np.bincount(naive_r, minlength=len(z_t)).tolist(),
                 "neighbor_list": neighbor_list((z_t, pos_t, cell_t), r).counts(len(z_t)).tolist()})
print("neighbors of the atoms", symbols_t)
pd.DataFrame(rows)

# %% [markdown]
# The minimum image keeps at most one image of each *other* atom, so with 3 atoms it never
# finds more than 2 neighbors, whatever the cutoff, and it never pairs an atom with its own
# images. At the cutoff of 5 Å, in red the pairs it misses:

# %%
naive = minimum_image_pairs(z_t, pos_t, cell_t, r_c)
nl_t = neighbor_list((z_t, pos_t, cell_t), r_c)
found = set(naive)
missed = np.array([(i, j, tuple(s)) not in found
                   for i, j, s in zip(nl_t.dst, nl_t.src, nl_t.shift.tolist(), strict=True)])
print(f"{missed.sum()} of {len(nl_t)} pairs within {r_c} Å are missed, among them "
      f"{int(((nl_t.src == nl_t.dst) & missed).sum())} pairs of an atom with its own image")
viz.graph_figure((z_t, pos_t, cell_t), nl_t, edge_mask=missed,
                 title=f"TaS2 within {r_c} Å: in red the pairs the minimum image misses",
                 selected_label="missed by the minimum image")

# %%
viz.count_comparison_figure(
    {"minimum image": np.bincount([i for i, _, _ in naive], minlength=len(z_t)),
     "neighbor_list": nl_t.counts(len(z_t))},
    labels=symbols_t, title=f"TaS2 (mp-1411): neighbors within {r_c} Å")

# %% [markdown]
# It gets worse in a skewed cell. The crystal does not depend on the cell we choose to describe
# it: new lattice vectors that are integer combinations of the old ones, with determinant 1,
# describe the same crystal. But rounding fractional coordinates in a skewed cell may not even
# find the *nearest* image:

# %%
skew = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 1]])  # integer, det = 1: the same lattice
cell_skewed = skew @ cell_t
nearest = nl_t.dist[(nl_t.dst == 1) & (nl_t.src == 2)].min()
for name, c in (("original cell", cell_t), ("skewed cell", cell_skewed)):
    (shift,) = [s for i, j, s in minimum_image_pairs(z_t, pos_t, c, np.inf) if (i, j) == (1, 2)]
    d = np.linalg.norm(pos_t[2] + np.array(shift) @ c - pos_t[1])
    print(f"{name}: the minimum image puts {symbols_t[2]} at {d:.3f} Å from {symbols_t[1]} "
          f"(nearest image: {nearest:.3f} Å)")
counts_skewed = np.bincount([i for i, _, _ in minimum_image_pairs(z_t, pos_t, cell_skewed, 2.5)],
                            minlength=len(z_t))
print("within 2.5 Å, skewed cell: minimum image", counts_skewed.tolist(), "| neighbor_list",
      neighbor_list((z_t, pos_t, cell_skewed), 2.5).counts(len(z_t)).tolist())

# %% [markdown]
# ## 8. Batching graphs
#
# A GNN trains on mini-batches. PyTorch Geometric's `DataLoader` glues graphs into one big,
# disconnected graph: it concatenates the atoms, stacks the cells to `[n_graphs, 3, 3]`, adds a
# `batch` vector (which graph each atom belongs to), and **offsets the indices**: `edge_index`
# by the number of atoms of the graphs before it, and `lg_edge_index` by the number of *edges*
# (`CrystalGraph.__inc__` tells PyG so). `edge_vectors` picks each edge's own cell.

# %%
batch_idx = ds.split["train"][:6]
graphs = []
for i in batch_idx:
    g = to_graph(ds.arrays(i), "alignn", line_graph=True, backtracking=False)
    g.y = torch.tensor([ds.target("formation_energy_per_atom")[i]])  # [1] eV/atom
    graphs.append(g)
loader = DataLoader(graphs, batch_size=3, shuffle=False)
batch = next(iter(loader))
print(batch)
print("atoms per graph:", [g.num_nodes for g in graphs[:3]],
      "| edges per graph:", [g.num_edges for g in graphs[:3]])
print("batch vector:", batch.batch.tolist())

# %%
first, second = graphs[0], graphs[1]
print("edge_index of graph 1 is offset by", first.num_nodes, "atoms:",
      torch.equal(batch.edge_index[:, first.num_edges:first.num_edges + second.num_edges],
                  second.edge_index + first.num_nodes))
n_lg = first.lg_edge_index.shape[1]
print("lg_edge_index of graph 1 is offset by", first.num_edges, "edges:",
      torch.equal(batch.lg_edge_index[:, n_lg:n_lg + second.lg_edge_index.shape[1]],
                  second.lg_edge_index + first.num_edges))
vec_b, _ = edge_vectors(batch)
cos_batch = bond_cosines(vec_b, batch.lg_edge_index)
cos_each = torch.cat([bond_cosines(edge_vectors(g)[0], g.lg_edge_index) for g in graphs[:3]])
print("bond angles of the batch equal those of the graphs one by one:",
      torch.allclose(cos_batch, cos_each))
print("targets:", batch.y.tolist(), ds.units["formation_energy_per_atom"])

# %% [markdown]
# ## 9. Exercises
#
# Each exercise ends with a self-check: it prints **correct**, or a hint. Replace the `None`
# (or `...`) with your answer and run the cell. The solutions are in
# `notebooks/solutions/01_crystals_as_graphs_solutions.ipynb`.
#
# ### Exercise 1: neighbors in rock salt
#
# NaCl has the rock-salt structure with $a = 5.64$ Å. How many neighbors does a Na ion have
# within a cutoff of **4.0 Å**? Predict it from the geometry first (where are the nearest Cl?
# the nearest Na?), then check with `neighbor_list`.
#
# <details><summary>Hint</summary>
#
# `ch01.rocksalt()` is the primitive cell (atom 0 is Na). `neighbor_list(cell, 4.0).counts(2)`
# gives the neighbors of each atom. The nearest Na are at $a/\sqrt 2$.
# </details>

# %%
nacl = ch01.rocksalt()  # primitive cell of NaCl, a = 5.64 Å: atom 0 is Na, atom 1 is Cl
# BEGIN SOLUTION
nl_nacl = neighbor_list(nacl, 4.0)
n_na_neighbors = int(nl_nacl.counts(len(nacl))[0])  # 6 Cl at a/2 + 12 Na at a/√2 = 3.99 Å
# END SOLUTION
# BEGIN STUDENT
# n_na_neighbors = None  # your answer: an integer
# END STUDENT
ch01.check_rocksalt_neighbors(n_na_neighbors)

# %% [markdown]
# ### Exercise 2: when is a k-nearest-neighbor graph symmetric?
#
# Keeping only the $k$ nearest neighbors of each atom (`to_graph(s, "radius", cutoff,
# max_neighbors=k)`) can break the symmetry of the graph: $j$ may be among the $k$ nearest of
# $i$ while $i$ is not among the $k$ nearest of $j$. For rutile TiO2 (`ch01.rutile()`) and
# $k = 6$, the graph is symmetric for small cutoffs. Find the cutoff (Å) at which it stops
# being symmetric: symmetric for every cutoff below it, not at it. Write `is_symmetric(graph)`
# first.
#
# <details><summary>Hint</summary>
#
# The graph only changes when the cutoff crosses a pair distance, so try the distinct distances
# of `neighbor_list(tio2, 6.0).dist` in increasing order (a little above each). An edge is
# `(j, i, S)`; its reverse is `(i, j, -S)`. Then look at the sorted distances of an O atom:
# why does symmetry break there?
# </details>

# %%
tio2 = ch01.rutile()  # rutile TiO2: 2 Ti, 4 O
k = 6


def is_symmetric(graph):
    '''True if every edge j -> i (shift S) has its reverse i -> j (shift -S).'''
    # BEGIN SOLUTION
    src, dst = graph.edge_index.tolist()
    shift = graph.edge_shift.round().long().tolist()
    edges = {(j, i, *s) for j, i, s in zip(src, dst, shift, strict=True)}
    return all((i, j, *(-v for v in s)) in edges
               for j, i, s in zip(src, dst, shift, strict=True))
    # END SOLUTION
    # BEGIN STUDENT
    # ...  # your code
    # END STUDENT


# BEGIN SOLUTION
distances = np.unique(neighbor_list(tio2, 6.0).dist.round(6))
symmetric_below = next(
    float(d) for d in distances
    if not is_symmetric(to_graph(tio2, "radius", cutoff=d + 1e-4, max_neighbors=k)))
print(f"the {k}-NN graph stops being symmetric at {symmetric_below:.3f} Å")
o_dist = np.sort(neighbor_list(tio2, 3.0).dist[neighbor_list(tio2, 3.0).dst == 2])
print("sorted neighbor distances of an O atom (Å):", o_dist.round(3))
# END SOLUTION
# BEGIN STUDENT
# symmetric_below = None  # your answer: the cutoff in Å
# END STUDENT
ch01.check_symmetric_cutoff(symmetric_below, k=k)

# %% [markdown]
# ### Exercise 3: a bond angle by hand
#
# In the line graph of rutile (Ti-O bonds only, cutoff 2 Å, no backtracking), take triplet
# `t = 4`: edges `e1, e2 = lg_edge_index[:, t]`. Compute the angle $\theta_{kji}$ in degrees
# from `pos`, `edge_shift` and `cell` yourself (not with `bond_cosines`), then compare.
#
# <details><summary>Hint</summary>
#
# `vec[e] = pos[src[e]] + edge_shift[e] @ cell - pos[dst[e]]`. Both vectors must start at the
# shared atom $j$: use `vec[e1]` and `-vec[e2]`.
# </details>

# %%
g_tio2 = to_graph(tio2, "radius", cutoff=2.0, line_graph=True, backtracking=False,
                  dtype=torch.float64)
t = 4
e1, e2 = g_tio2.lg_edge_index[:, t]  # e1 = (k -> j), e2 = (j -> i)
# BEGIN SOLUTION
src_t, dst_t = g_tio2.edge_index


def edge_vec(e):  # vec = pos[src] + shift @ cell - pos[dst], Å
    return (g_tio2.pos[src_t[e]] + g_tio2.edge_shift[e] @ g_tio2.cell[0]
            - g_tio2.pos[dst_t[e]])


v1, v2 = edge_vec(e1), -edge_vec(e2)  # both start at the shared atom j
angle = float(torch.rad2deg(torch.arccos(v1 @ v2 / (v1.norm() * v2.norm()))))
cos_pkg = bond_cosines(edge_vectors(g_tio2)[0], g_tio2.lg_edge_index)[t]
print(f"θ = {angle:.2f}° by hand, {float(torch.rad2deg(torch.arccos(cos_pkg))):.2f}° "
      "from bond_cosines")
# END SOLUTION
# BEGIN STUDENT
# angle = None  # your answer: the angle at atom j, in degrees
# END STUDENT
ch01.check_bond_angle(angle, g_tio2, t)

# %% [markdown]
# ### Exercise 4: how many edges does CGCNN give?
#
# For a structure with $N$ atoms, how many edges (padding included) does
# `to_graph(structure, "cgcnn")` return? Write it as a function of $N$. Does it depend on the
# structure?
#
# <details><summary>Hint</summary>
#
# Build a few CGCNN graphs (a 1-atom metal, a short chain of atoms in a big box) and compare
# `graph.num_edges` with `graph.num_nodes`; look at `graph.edge_pad`.
# </details>

# %%
# BEGIN SOLUTION
for i in ds.split["train"][:3]:
    g = to_graph(ds.arrays(i), "cgcnn")
    print(f"{ds[i].formula}: {g.num_nodes} atoms, {g.num_edges} edges, "
          f"{int(g.edge_pad.sum())} padding")


# END SOLUTION
def cgcnn_edge_count(n_atoms):
    '''Edges (padding included) of to_graph(structure, "cgcnn") for n_atoms atoms.'''
    # BEGIN SOLUTION
    return 12 * n_atoms  # every atom receives exactly max_neighbors = 12 edges
    # END SOLUTION
    # BEGIN STUDENT
    # return ...  # your formula
    # END STUDENT


ch01.check_cgcnn_edges(cgcnn_edge_count)

# %% [markdown]
# ### Exercise 5: why is the minimum-image count wrong?
#
# In section 7 the minimum-image convention missed neighbors of TaS2. Which explanation is
# right? Answer with a letter.
#
# <details><summary>Hint</summary>
#
# Count, for atom 0 of TaS2, how many pairs the neighbor list found for each neighbor index
# $j$ (`nl_t.src[nl_t.dst == 0]`).
# </details>

# %%
show_choices(ch01.MINIMUM_IMAGE_CHOICES)
# BEGIN SOLUTION
j, images = np.unique(nl_t.src[nl_t.dst == 0], return_counts=True)
print("images of each neighbor j of atom 0 within the cutoff:",
      dict(zip(j.tolist(), images.tolist(), strict=True)))
why = "b"  # several images of the same j lie within the cutoff; minimum image keeps one
# END SOLUTION
# BEGIN STUDENT
# why = None  # your answer: "a", "b", "c" or "d"
# END STUDENT
ch01.check_minimum_image(why)

# %% [markdown]
# ## Summary
#
# - A crystal graph stores atoms (`z`, `pos`), the cell, and directed edges `j -> i` with the
#   integer shift of the neighbor's image; edge vectors are recomputed from positions.
# - Periodic neighbor lists must search all images: the minimum-image convention fails as soon
#   as the cutoff exceeds half the cell's smallest width, which is common for crystals.
# - The edge policy is a modeling choice: a radius graph, CGCNN's 12 nearest (padded), or
#   ALIGNN's 12 nearest with whole shells, symmetrized.
# - Distances become Gaussian features, elements become 92 CGCNN bins, and a line graph adds
#   bond angles. Batching offsets edge indices by atoms and line-graph indices by edges.
#
# Next: notebook 02 trains CGCNN on these graphs to predict the formation energy.
