"""One module per data set: its registry entry (``ENTRY``) beside its loader.

===========================  ==========================================================
module                       data sets
===========================  ==========================================================
:mod:`.matminer`             ``mp_eform``, ``mp_dielectric``, ``mp_elastic`` (shipped)
:mod:`.ethanol`              ``ethanol`` (BOTNet, rMD17 geometries)
:mod:`.bpa`                  ``3bpa`` (BOTNet)
:mod:`.acac`                 ``acac`` (BOTNet)
:mod:`.ean`                  ``ean`` (NeuralIL ionic liquid)
:mod:`.mlearn`               ``mlearn`` (elemental crystals)
:mod:`.mp_phonons`           ``mp_phonons`` (Materials Project DFPT phonons, ffonons)
:mod:`.phonon_prediction`    ``kmvn_weights`` (the authors' pretrained k-MVN; weights)
:mod:`.matcalc`              ``matcalc_elasticity``, ``matcalc_heat_capacity``
:mod:`.perov_5`              ``perov_5`` (CDVAE)
:mod:`.ani1`                 ``ani1_subset`` (registered for provenance only)
:mod:`.samples`              ``ethanol_sample``, ``ean_sample`` (small fixtures in data/)
===========================  ==========================================================

:data:`companion.data.DATASETS` collects the entries (:mod:`companion.data.registry`).
"""
