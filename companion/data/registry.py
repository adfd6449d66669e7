"""Registry of the external data sets: where each file lives upstream and its checksum.

Every entry pins one public GitHub repository at one commit. A file ``PATH`` of an entry is
upstream at ``https://raw.githubusercontent.com/OWNER/REPO/COMMIT/PATH`` and locally at
``<dir>/OWNER__REPO/PATH`` (see :mod:`companion.data.resolve` for the search order). The
sha256 and size of every file are written here as literals (copied from the checksums of
the shared mirror, ``../shared/data/SHA256SUMS``), so the package needs nothing outside itself
to verify a file.

Use :func:`get` and :func:`available`; the entries are built on first use, not at import.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from companion.errors import DataError

__all__ = ["DatasetEntry", "FileEntry", "RAW_GITHUB", "available", "get"]

RAW_GITHUB = "https://raw.githubusercontent.com/{owner}/{repo}/{commit}/{path}"


@dataclass(frozen=True)
class FileEntry:
    """One upstream file.

    Attributes:
        path: Path inside the upstream repository (forward slashes).
        size: Size in bytes.
        sha256: Lowercase hex sha256 of the exact bytes.
    """

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class DatasetEntry:
    """An external data set: upstream location at a pinned commit, files, license, citation.

    Attributes:
        name: Registry name, e.g. ``"ethanol"``.
        description: One paragraph: what the data are and what is (not) available.
        repo: Upstream GitHub repository ``"owner/name"``.
        commit: Full 40-hex commit the files are pinned to.
        files: The files of the set with size and sha256.
        license: License of the repository / data.
        citation: What to cite when using the data.
        units: Label name -> unit (read-only mapping).
        url_template: Download URL with ``{owner}``, ``{repo}``, ``{commit}``, ``{path}``
            placeholders (GitHub's raw host by default; tests point it elsewhere).
    """

    name: str
    description: str
    repo: str
    commit: str
    files: tuple[FileEntry, ...]
    license: str
    citation: str
    units: Mapping[str, str] = field(default_factory=dict, hash=False)
    url_template: str = RAW_GITHUB

    def __post_init__(self) -> None:
        object.__setattr__(self, "units", MappingProxyType(dict(self.units)))

    @property
    def owner(self) -> str:
        """GitHub owner of the upstream repository."""
        return self.repo.split("/", 1)[0]

    @property
    def repo_name(self) -> str:
        """Repository name without the owner."""
        return self.repo.split("/", 1)[1]

    @property
    def folder(self) -> str:
        """Local folder name of the repository mirror: ``owner__repo``."""
        return f"{self.owner}__{self.repo_name}"

    def file(self, relpath: str) -> FileEntry:
        """The file entry of ``relpath``.

        Raises:
            DataError: the file is not part of this entry (lists the ones that are).
        """
        for f in self.files:
            if f.path == relpath:
                return f
        names = "\n  ".join(f.path for f in self.files)
        raise DataError(
            f"'{relpath}' is not a file of data set '{self.name}' "
            f"({self.repo}@{self.commit[:10]}). Its files are:\n  {names}"
        )

    def url(self, relpath: str) -> str:
        """Pinned download URL of a file of this entry."""
        return self.url_template.format(
            owner=self.owner, repo=self.repo_name, commit=self.commit, path=relpath
        )


def available() -> list[str]:
    """Names of the registered external data sets, sorted."""
    return sorted(_entries())


def get(name: str) -> DatasetEntry:
    """The registry entry of an external data set.

    Raises:
        DataError: unknown name (the message lists the available ones).
    """
    entries = _entries()
    try:
        return entries[name]
    except KeyError:
        raise DataError(
            f"unknown external data set '{name}'; available: {', '.join(available())}"
        ) from None


_BOTNET = ("davkovacs/BOTNet-datasets", "29e6d467317e4b5967b7ea5cbee54de953fa0d45")
_BOTNET_CITE = (
    "I. Batatia, S. Batzner, D. P. Kovács, A. Musaelian, G. N. C. Simm, R. Drautz, C. Ortner, "
    "B. Kozinsky, G. Csányi, 'The design space of E(3)-equivariant atom-centered interatomic "
    "potentials', arXiv:2205.06643 (2022)"
)
_MOLECULE_UNITS = {
    "energy": "eV",
    "forces": "eV/Å",
    "positions": "Å",
    "atomic_energies": "eV",
}
_MP_CITE = (
    "A. Jain et al., 'Commentary: The Materials Project: A materials genome approach to "
    "accelerating materials innovation', APL Mater. 1, 011002 (2013)"
)


@functools.cache
def _entries() -> dict[str, DatasetEntry]:
    """Build the registry (once per process)."""
    ean = (
        FileEntry("auxiliary_files/EAN_md_initial.gro", 15_577,
                  "dfa94f6bee199c2df47230d64a549fa5a79c03fea1b68bfc6d8f65494bae4efb"),
        FileEntry("data_sets/EAN/validation_original.json", 2_178_840,
                  "ca384ecb51eeff60e6a567dce033d9a290bf56e8e14f751f212e11616f494855"),
    )
    perov = (
        FileEntry("data/perov_5/test.csv", 3_671_842,
                  "a85878c685037f0a578257f6d4fcdde00e968dbab73c5f1e90ecef65218513f6"),
        FileEntry("data/perov_5/val.csv", 3_673_814,
                  "326f401219901270374b71e2faff63df3a29a99fd26f469993b9f476b693daf2"),
    )
    ethanol = (
        FileEntry("dataset_ethanol/README.md", 1_936,
                  "eb8fe6a4e4be05b40ca3c1f6e1d4beac5b3bbd7cc718a953a24d43d93780f06d"),
        FileEntry("dataset_ethanol/isolated_atoms.xyz", 608,
                  "a2a662390f31ad623ce493038e680bc34214f88d4432566bf8fbd0761be57583"),
        FileEntry("dataset_ethanol/test_H_removal.xyz", 38_519,
                  "8d9f13272eb1c7570edaf6afc31e6f8670df38c41b82611504878576708b1a1c"),
        FileEntry("dataset_ethanol/test_MD.xyz", 1_110_863,
                  "b8726933d5b9083989d8e3cc7013c18e0950cf0cbc6f6cd570fdb9759001031c"),
        FileEntry("dataset_ethanol/test_dimers.xyz", 110_276,
                  "6beaf368c2caed6493a39c643438317246926675f14b188b7a2dcbd7868f7342"),
        FileEntry("dataset_ethanol/test_eth_meth.xyz", 1_209_446,
                  "e9109584eb66d2ffe7509dd792c436e4b54bed2583a4de555bda9b2cd4799adf"),
        FileEntry("dataset_ethanol/test_norm_mode_3005.xyz", 11_769,
                  "9412f0ac3562ee3f307e823eae5f6a9b793e1805feea908f58c9d24a0068f6b0"),
        FileEntry("dataset_ethanol/test_norm_mode_874.xyz", 24_180,
                  "13f363e0c141dc25af4d8f59668623a27e024c781a07a52f8565fc6bb0e58f99"),
        FileEntry("dataset_ethanol/train.xyz", 1_115_876,
                  "a26a16d8910581fa321fedc3bd3dfe31f2460e8cbfdc7a8f65243f4fd7250dd0"),
        FileEntry("dataset_ethanol/train_eth_meth.xyz", 1_330_730,
                  "2aea243261f05b7d556cca37d73de335a98573d198441f32dc6f835cd948e3a0"),
    )
    bpa = (
        FileEntry("dataset_3BPA/README.md", 2_281,
                  "de9daa6f12c8f0ae28e2988608406dc77174982cf734b057ec84f3e0efebf1ea"),
        FileEntry("dataset_3BPA/iso_atoms.xyz", 504,
                  "e12a2465a2612bf38fd5dabdf64d4b57fc58ce9610a858c54ea1142d517c053f"),
        FileEntry("dataset_3BPA/train_300K.xyz", 1_504_880,
                  "d109971fab90e2231ad931a83eb704c8d940f5c7d7a8de27fe3b84ea18634c0a"),
        FileEntry("dataset_3BPA/train_mixedT.xyz", 1_504_818,
                  "bc108532964b2ed259eaaabf82e5dfaffa5bda9ac384fc2afabcce192a49250b"),
    )
    acac = (
        FileEntry("dataset_acac/README.md", 772,
                  "f77cf1d5d90c6eac636049ab87dc0895e50d53a2ed6d7b65fb47687b1862beea"),
        FileEntry("dataset_acac/isolated_atoms.xyz", 455,
                  "b74f321b453374621b447d65c60979f70df1b7182c8ee0215388b2c574f33823"),
        FileEntry("dataset_acac/test_H_transfer.xyz", 14_306,
                  "ea4d76c79cf4cfccd2f93eaf755172b0b648886c4907eb0f82dff07a77530743"),
        FileEntry("dataset_acac/test_MD_300K.xyz", 1_144_100,
                  "2291f3186a3cc6a5e05e92952c84a9237ca53f862d78fd3316a769360719ec43"),
        FileEntry("dataset_acac/test_MD_600K.xyz", 1_144_153,
                  "d5a5bba154ec43f915eb7529f86ec3af60e6f911743859daba030181a0378ff7"),
        FileEntry("dataset_acac/test_dihedral.xyz", 43_974,
                  "0c2246a593579de5a4450698d5f4ba5802b095824b7f211aa5889339967c6809"),
        FileEntry("dataset_acac/train_300K.xyz", 880_100,
                  "8f5706d6902360555a5be59395612d2afc3489a75688388a58e7275fdad68af3"),
        FileEntry("dataset_acac/train_600K.xyz", 880_112,
                  "180c2538508f7810a623c279426f44953ee7cfb2af77e48ea3986ff97645a71c"),
    )
    phonons = (
        FileEntry("data/mp/mp-10163-Na2Al2Te4-mp.json.gz", 1_009_372,
                  "76dc374bb10002758a66fcb6fa49ca77d92a207ae70ba8575fc8df5da0759f03"),
        FileEntry("data/mp/mp-10182-Li1Zn1P1-mp.json.gz", 233_406,
                  "157a54379b184443a7ac1ac7e634d235f8df6588d828f6092773dff625eaa20c"),
        FileEntry("data/mp/mp-1020059-Li2Ge4N6-mp.json.gz", 3_047_708,
                  "f842da16b559375e77be50a63fbf477d9e99ff136f275a09bf523ee374680158"),
        FileEntry("data/mp/mp-10418-Rb2Sb2O4-mp.json.gz", 1_159_088,
                  "8c7df0547bea56b03738c08e7e49af238eec0d5c4a19e31f050acd8ab233859f"),
        FileEntry("data/mp/mp-10616-Ba1Li1As1-mp.json.gz", 232_366,
                  "b3e1e5ba8c38e6c45559ed5d8ac3841bb091ccd95dbb2d59c825306b3df77f9d"),
        FileEntry("data/mp/mp-11175-Li1Zn1P1S4-mp.json.gz", 971_268,
                  "291545675dd72386daeccdc9a39ac15b635a3c16a90832f97071efb7c69ec291"),
        FileEntry("data/mp/mp-11718-Rb1F1-mp.json.gz", 96_696,
                  "c4d221047522b79b4cb5e24320c283499d8d15ca052e5b4ba91632242bba13a7"),
        FileEntry("data/mp/mp-13541-Sr2Mg1B2O6-mp.json.gz", 2_322_063,
                  "59e6eab49922bbb11d782fb0aa7c8b6ade0bd574b1e3fc6e68914ee012c5d39d"),
        FileEntry("data/mp/mp-14039-K2Na1Rh1F6-mp.json.gz", 1_493_983,
                  "9d80f331e5703c094279ec9a07196447d1080a43a24bf0747e466cbe724bd82b"),
        FileEntry("data/mp/mp-14069-Cs2Al2O4-mp.json.gz", 999_619,
                  "5a1850c3178de2382fb036a5e8ec11063d16badf963b65154538788b9bf93214"),
        FileEntry("data/mp/mp-14092-Al2Ag2Te4-mp.json.gz", 1_038_357,
                  "762adfedd8323e2390c426e0ce8add89a5456bbfc3aa310ece72ff185785940a"),
        FileEntry("data/mp/mp-14437-Rb1Y1O2-mp.json.gz", 386_526,
                  "e14bac1e24682690874eb04d991db170d600fb13a572ae0e2de89e3377069e0c"),
        FileEntry("data/mp/mp-149-Si2-mp.json.gz", 101_425,
                  "04b91d1271f2010d1087adc67544bcf8ec55276b9d7e50359e5002eb8f7c78e5"),
        FileEntry("data/mp/mp-15794-Li1Y1Se2-mp.json.gz", 338_430,
                  "d232ce80ecf4a779329fda6b2d8836534794bd8372cbc11f5468aad75d5f9705"),
        FileEntry("data/mp/mp-15988-Li2Cu1Sb1-mp.json.gz", 361_512,
                  "5dada29c6d2236519ed9dc879227f62e55c60357fb6de4005134b319711ac481"),
        FileEntry("data/mp/mp-1960-Li2O1-mp.json.gz", 275_512,
                  "ab37615848048bf231a022f6767b66e639c6dfb2d3b6d90f2ebe2786b5f372b0"),
        FileEntry("data/mp/mp-19795-In4S4-mp.json.gz", 1_463_217,
                  "596c2823e4b049e07250eced145b5c60051903acf54106077e0d0b2da55f87ff"),
        FileEntry("data/mp/mp-20072-La1Cu1O2-mp.json.gz", 379_466,
                  "9927c443ad469c90710415990b0bb9e2d69d0a1ef0f02d333365b8606875a59f"),
        FileEntry("data/mp/mp-20463-Ca1Pb1F6-mp.json.gz", 984_711,
                  "69a1e123376173cc4f3cb951dfe1895a8689adf26b6b6731a388fe48606e1065"),
        FileEntry("data/mp/mp-22925-Ag1I1-mp.json.gz", 89_306,
                  "7cb2aba7f65eeb7ef403d4df4bfa46b999e7788ae950535015dc38943ed6ea86"),
        FileEntry("data/mp/mp-23137-Ba2Y1Bi1O6-mp.json.gz", 1_551_838,
                  "818133f20cbdc86eff5343d6218a8669abbdade807c67942fb5e9799f0515345"),
        FileEntry("data/mp/mp-23268-Na1I1-mp.json.gz", 92_673,
                  "bbb95849a24835b91d06077dc17aab63af0916ff900d4c2b817c0760c4c1d183"),
        FileEntry("data/mp/mp-23405-Cs2Te1Br6-mp.json.gz", 922_554,
                  "08c1d2b17275996191a4b577f3a7248d287be5310dca917deda7429fa454a23f"),
        FileEntry("data/mp/mp-23485-Ag2Hg1I4-mp.json.gz", 806_567,
                  "da3451bd10fa23f1baf59e3234c225b28e8a550cdfd760f1fc87ac4efc8ec648"),
        FileEntry("data/mp/mp-23485-Ag4Hg2I8-mp.json.gz", 806_563,
                  "b295dd22888c88feb5f4baf4abaf85cd7cacfba514d6e193063ac5e280f7e243"),
        FileEntry("data/mp/mp-27193-Rb1I1O3-mp.json.gz", 541_624,
                  "21e6edd43a48f2fbcbb0f063661efc01445d57bc0c1470a7c23fc886227f27f1"),
        FileEntry("data/mp/mp-27207-K2Mg1Cl4-mp.json.gz", 856_501,
                  "104f7dcd76b215eefdbfaddd0d3ee298174d54e3779e0e74ea2332bfd127c3cb"),
        FileEntry("data/mp/mp-27253-Au4O6-mp.json.gz", 2_561_193,
                  "3c24044ac9b78a81548d1d3fef92a93c06eae9ab098bf6e07893b7679b06a478"),
        FileEntry("data/mp/mp-27385-K2Tl2Cl8-mp.json.gz", 2_012_543,
                  "23d93e5f7850a54876e8eacd330c260babedb13f23e35f6e0702d9586da4d0b4"),
        FileEntry("data/mp/mp-27422-Cs1Bi1F6-mp.json.gz", 1_351_591,
                  "01f2f4f8b55c76212216d0b2a7c62f99fd384a3f12259cf34014fe11118289ef"),
        FileEntry("data/mp/mp-28264-Rb2H6O4-mp.json.gz", 3_527_083,
                  "3362d63dd48002e32080f4aedcf5695f806f60bc1f3b380ce8131f8eadf27670"),
        FileEntry("data/mp/mp-28591-Na4Hg1P2-mp.json.gz", 786_714,
                  "9cebb28253a7b433e1f7c43a073ce31f937d2d9f5179f8d8082bb40b4dd06f92"),
        FileEntry("data/mp/mp-2894-Sc1Sn1Au1-mp.json.gz", 197_486,
                  "5352afa7eab0fad48f1b82d2f4c530bf419b7b47236b51e2cbbc9a8e13a86f2b"),
        FileEntry("data/mp/mp-29750-Cs2Mg2Br6-mp.json.gz", 1_366_901,
                  "50b0ecdb5b0ef5126b07a28c991705fe7d533e7dd7e15a0337bd2bf3c0842cee"),
        FileEntry("data/mp/mp-30459-Sc1Ni1Bi1-mp.json.gz", 206_334,
                  "40e9e948cd49e3264b9f64594ac5e06bbc60fe85510c52543f405ebfa0039c24"),
        FileEntry("data/mp/mp-3056-Na1Tl1O2-mp.json.gz", 400_361,
                  "e55673ba89fcdf867053040d4c3a4a94a56005c9b5dbe59747ad4b4f4b0f977e"),
        FileEntry("data/mp/mp-3163-Ba1Sn1O3-mp.json.gz", 530_069,
                  "b89a7289b09b3bdcf23a7e099105fb515de23e526ccfa1c1244f14ece581ad5a"),
        FileEntry("data/mp/mp-3486-K2Sn2Sb2-mp.json.gz", 659_324,
                  "8ad0c71b6a9ed3b6a84f379f6a63234d22c8a80edff99aa28d518e12a49d327d"),
        FileEntry("data/mp/mp-36508-Sn1Hg1F6-mp.json.gz", 1_072_651,
                  "25514ac1f05ba33334ffc1906a3d3d85e8b8b2d805b5f370591475312f7b9604"),
        FileEntry("data/mp/mp-3666-Li2Ta2O6-mp.json.gz", 1_965_130,
                  "8c58bbafed9540d7b080a8c6dd039d009f158ee511eb05ce8b230727b2303b1e"),
        FileEntry("data/mp/mp-406-Cd1Te1-mp.json.gz", 90_990,
                  "cbbb15fda701bc7c2bd2baa5b527d6563a516da7aee701f1af43ab6558d133c0"),
        FileEntry("data/mp/mp-504729-Cs2Pd1F6-mp.json.gz", 1_117_656,
                  "028ec152717dcc50471d4d199e3ff28701818b657af250f29af324c1303806bd"),
        FileEntry("data/mp/mp-5342-Ga2Ag2S4-mp.json.gz", 1_191_240,
                  "8cf86dd5a82a598e6572f82a0b4d881a12018e4c7381d6068ab60614eadfd1b2"),
        FileEntry("data/mp/mp-549697-Rb1Ge1I1O6-mp.json.gz", 1_534_098,
                  "d8131a8f55f90a97cda7786f396dc9933dd1cc9b542f10ce749eed8b964e3f8f"),
        FileEntry("data/mp/mp-567776-Cs2Ag1Au1Cl6-mp.json.gz", 1_472_302,
                  "c62db32b2f1f80f2baf4d8a996e037a3de14407960fa377d72f0bde55e70fbc4"),
        FileEntry("data/mp/mp-571093-Ba1Al1Si1H1-mp.json.gz", 425_511,
                  "15106b201eac3ed75bda7043339dc0fd54965de716105618f5823cc871921315"),
        FileEntry("data/mp/mp-638729-Cs2Zr1Cl6-mp.json.gz", 937_596,
                  "1ffa260ad8c728499e425e9f71c73f237c187802742a6857604d5aee78a9a2e2"),
        FileEntry("data/mp/mp-672-Cd2S2-mp.json.gz", 353_691,
                  "ce81b5c80566ce714ea26ce293f7ce065ddd24c750fbae8197e0d00df8a224fb"),
        FileEntry("data/mp/mp-697144-Rb2H4N2-mp.json.gz", 1_277_434,
                  "b47e6950275931bd5bf0cec2037755e1e6b01ede76d7bba11f3307d7c90cf3c4"),
        FileEntry("data/mp/mp-7173-Sc1Sb1Pt1-mp.json.gz", 199_744,
                  "027a0a3926156ba379d568d9f97d25e3e570ffd7ebdde4d4171c956de6796851"),
        FileEntry("data/mp/mp-7639-Na4Cu2P2-mp.json.gz", 1_366_268,
                  "c1a5729dff6711a6eb8aa8aeeb50f13878b1282974e35a8f92a7d4fadf820e1e"),
        FileEntry("data/mp/mp-7684-Tl3As1Se3-mp.json.gz", 876_249,
                  "7260b17b5abe4173f2cfe3e07d51b3921e9a744141c80444e7b02f087f062f52"),
        FileEntry("data/mp/mp-772290-Li4Ag4O4-mp.json.gz", 2_435_494,
                  "afd1a3564810508c9289489995176b99047e492a713587482ef71fe159040b2e"),
        FileEntry("data/mp/mp-7773-Na4As2Au2-mp.json.gz", 1_324_298,
                  "419014ec2183f3b97f4e7e16fbdb64a9d03bdecdc7d08191530beb628c574d25"),
        FileEntry("data/mp/mp-7774-Na4Sb2Au2-mp.json.gz", 1_229_660,
                  "2cc2fa839676a254a5ac11a4f13e441d8ed2c0b0403bc3681e50b9d66c20d03b"),
        FileEntry("data/mp/mp-8161-Ca2Pd2F8-mp.json.gz", 2_373_846,
                  "e657cf33ec7dc1c46df8533ba00e35e927a732813bac160223c489528d0813da"),
        FileEntry("data/mp/mp-8192-Rb2Pt1F6-mp.json.gz", 1_437_855,
                  "b8123b694d4cdb081fc42904d6bfe9b9d8c18f40bf993b4253aa820a9ad5cd9e"),
        FileEntry("data/mp/mp-8235-K4Si2P4-mp.json.gz", 1_549_089,
                  "bb0e485fb9a35c165298acc00ec5204ce76ea025985c285ee28167313d541208"),
        FileEntry("data/mp/mp-8446-K4Cu2P2-mp.json.gz", 1_294_689,
                  "396dd7159432063581c86f57d3be0fff45265c3115ccf3f1992877d2a7300ae3"),
        FileEntry("data/mp/mp-866291-Ag1Br1-mp.json.gz", 93_647,
                  "e66d38a8daf73d23bba154c06f3d53dd62dddbafc507b1901498252cc3584645"),
        FileEntry("data/mp/mp-867335-K4Sb2Au2-mp.json.gz", 1_131_908,
                  "572735fa4e92422fe5dad269fb5af4627eb691f234b04e7e5b03fc0701268786"),
        FileEntry("data/mp/mp-8799-Rb2Na2S2-mp.json.gz", 698_324,
                  "32f6f029acac981600647e1b157cc974a993c5e471f65b07f53bed169a4723cf"),
        FileEntry("data/mp/mp-9566-Sr1Mg2Sb2-mp.json.gz", 476_964,
                  "a682424b67946262b81ca3e36a6e9bf37c2638b2f2e2b65293b2dbea1f14a6e8"),
        FileEntry("data/mp/mp-9567-Ba1Mg2Sb2-mp.json.gz", 459_854,
                  "af274e4044b0271253ab06d6148484fff2975f72e37de80401498da660bdccf5"),
        FileEntry("data/mp/mp-961713-Zr1Sn1Pt1-mp.json.gz", 196_423,
                  "a5c70c1d4f19ace39d50013e492c623f28cf2c37d75d49c82569b575c8e61cc6"),
        FileEntry("data/mp/mp-989531-Cs2K1Ga1F6-mp.json.gz", 1_383_652,
                  "39155b0429759b6378516b14840b48056a5117f98744ddf696368af0c41551d1"),
        FileEntry("data/mp/mp-989639-Cs2K1In1F6-mp.json.gz", 1_364_807,
                  "b11be4ba520fff7226e2bd505e8c1549ef8ae70da71eef85c31000d9dce664ce"),
        FileEntry("data/mp/mp-9919-Li2Zn2Sb2-mp.json.gz", 728_838,
                  "d1699623224a3b0f73470c3a46fca138951fd0f22f9552f0bf2379cfe66bdde7"),
        FileEntry("data/mp/mp-996943-Cs2Na1In1Br6-mp.json.gz", 1_117_900,
                  "8438f5336acaa10cb56ccd1ba3aaab7ede7f1976db4c43085225a280bd27729f"),
    )
    matcalc = (
        FileEntry("benchmark_data/alexandria-binary-pbe-phonon-2025.1.json.gz", 753_605,
                  "4a524330da5173a09bca362f16ed2479a1c6882ee50913a71067444ac8e63a56"),
        FileEntry("benchmark_data/mp-binary-pbe-elasticity-2025.1.json.gz", 1_324_808,
                  "5689599491322805bda913663eeef8d567f64ada80c90173d50fb7b6fb0b5896"),
    )
    mlearn = (
        FileEntry("data/Cu/test.json", 608_400,
                  "1805a315ce8d0ce4a18bb761df4c4f619909ce114d598d426015d0071edc98c2"),
        FileEntry("data/Ge/test.json", 311_848,
                  "737ea6159c9dd27ebee7fb8ffae22f15e20466884927771248ca4f5b2cd3f093"),
        FileEntry("data/Ge/training.json", 2_796_663,
                  "43dee02009a5167f94c7aafce19051222bcfc328c46181750cc2a2018187ca00"),
        FileEntry("data/Li/test.json", 279_684,
                  "554d0ce60b35a07b357be3a80bf04f68eb8fc97b5a88328caf08c860b5e9b260"),
        FileEntry("data/Li/training.json", 2_446_522,
                  "1cac01475c5a4fb85771ee1fd23366a6b8abfb9891e0c9e088b6e37228e147b3"),
        FileEntry("data/Mo/test.json", 250_629,
                  "68169e2927c2115daa2f504805fcb9548ee65daf2dd015428807ba92f8e13bb8"),
        FileEntry("data/Mo/training.json", 2_127_325,
                  "b13305fca0d0d2631ab080c8fcf13c743ee79a911712fb65a34ca88fadf09f9a"),
        FileEntry("data/Ni/test.json", 611_126,
                  "dccbfa14ddff5d1d35f658c48b68f6b431f95496a5261ef8b8f4d1d41e36008a"),
        FileEntry("data/Si/test.json", 309_803,
                  "d452b30a89f23bff76f7cc529b7b6c2d159ea81ccd5a4599fb1a18207654fa91"),
        FileEntry("data/Si/training.json", 2_669_946,
                  "ae6d4b0a65b00e0fcf7ba0a6fad366716710d2f0d21d70199203089c6866b500"),
    )
    ani = (
        FileEntry("ani1/ANI-1_release/ani_gdb_s01.h5", 634_677,
                  "ccea4d34bf4d281b857c67864c54ed1883bbae7b394d87ff43367564d438b2e6"),
    )
    mlearn_units = {
        "energy": "eV (per cell)",
        "energy_per_atom": "eV/atom",
        "forces": "eV/Å",
        "virial_stress": "kB (0.1 GPa; VASP sign: positive = compressive), order xx yy zz xy yz xz",
        "positions": "Å",
    }
    entries = [
        DatasetEntry(
            name="ean",
            description=(
                "EAN (ethylammonium nitrate) ionic liquid, the NeuralIL / JAT data set: 75 DFT "
                "configurations (the public validation split) of 15 ion pairs = 225 atoms in a "
                "cubic box, one JSON object per line (Energy, Positions, Forces, Cell-Size, "
                "Charges). Species order from EAN_md_initial.gro: 15 ethylammonium cations "
                "(N H H H C H H C H H H) then 15 nitrate anions (N O O O). The 666-configuration "
                "training split is not available here."
            ),
            repo="Madsen-s-research-group/neuralil-public-releases",
            commit="dcfadc67c12eac2ed425302d8f0180c1a7b90f4b",
            files=ean,
            license="Apache-2.0",
            citation=(
                "H. Montes-Campos, J. Carrete, S. Bichelmaier, L. M. Varela, G. K. H. Madsen, "
                "'A Differentiable Neural-Network Force Field for Ionic Liquids', "
                "J. Chem. Inf. Model. 62, 88 (2022)"
            ),
            units={"energy": "eV (per cell)", "forces": "eV/Å", "positions": "Å", "cell": "Å"},
        ),
        DatasetEntry(
            name="ethanol",
            description=(
                "Ethanol, DFT (PBE/def2-SVP, ORCA) energies and forces in extended XYZ: 1000 "
                "training geometries from rMD17, an MD test set (1000), H removal, normal "
                "modes, dimer curves, ethanol+methanol sets; isolated-atom energies."
            ),
            repo=_BOTNET[0],
            commit=_BOTNET[1],
            files=ethanol,
            license="MIT",
            citation=(
                _BOTNET_CITE + "; ethanol geometries from rMD17: A. S. Christensen, "
                "O. A. von Lilienfeld, Mach. Learn.: Sci. Technol. 1, 045018 (2020)"
            ),
            units=_MOLECULE_UNITS,
        ),
        DatasetEntry(
            name="3bpa",
            description=(
                "3-(benzyloxy)pyridin-2-amine (3BPA, 27 atoms), DFT energies and forces: two "
                "500-configuration training sets (300 K MD, mixed 300/600/1200 K MD); the test "
                "sets are not available here. iso_atoms.xyz holds the isolated-atom energies."
            ),
            repo=_BOTNET[0],
            commit=_BOTNET[1],
            files=bpa,
            license="MIT",
            citation=(
                _BOTNET_CITE + "; D. P. Kovács, C. van der Oord, J. Kucera, A. E. A. Allen, "
                "D. J. Cole, C. Ortner, G. Csányi, J. Chem. Theory Comput. 17, 7696 (2021)"
            ),
            units=_MOLECULE_UNITS,
        ),
        DatasetEntry(
            name="acac",
            description=(
                "Acetylacetone (15 atoms), DFT (UHF PBE+D3/def2-SVP) energies and forces: "
                "train/test at 300 K and 600 K, dihedral scan, H-transfer path; "
                "isolated-atom energies."
            ),
            repo=_BOTNET[0],
            commit=_BOTNET[1],
            files=acac,
            license="MIT",
            citation=_BOTNET_CITE,
            units=_MOLECULE_UNITS,
        ),
        DatasetEntry(
            name="mlearn",
            description=(
                "Elemental crystals for interatomic potentials (DFT PBE, VASP): energies, forces "
                "and virial stresses of Si, Ge, Li, Mo (training.json + test.json) and Cu, Ni "
                "(test.json only; their training files are not available here). Groups: "
                "AIMD-NVT, Elastic, Surface, Vacancy."
            ),
            repo="materialsvirtuallab/mlearn",
            commit="10c427a5480c6281c15c64efaf869b03be04818f",
            files=mlearn,
            license="BSD-3-Clause",
            citation=(
                "Y. Zuo et al., 'Performance and Cost Assessment of Machine Learning Interatomic "
                "Potentials', J. Phys. Chem. A 124, 731 (2020)"
            ),
            units=mlearn_units,
        ),
        DatasetEntry(
            name="mp_phonons",
            description=(
                "69 Materials Project DFPT phonon documents (PBEsol, Petretto et al. workflow) as "
                "gzip JSON: pymatgen PhononBandStructureSymmLine (structure, q-points, band "
                "frequencies in THz, high-symmetry labels, eigendisplacements) and the phonon "
                "DOS. 2 to 12 atoms per cell. mp-23485 appears twice (two cells)."
            ),
            repo="janosh/ffonons",
            commit="f682ad3edb3f1b50d9494b0b7f17c0ae919358cd",
            files=phonons,
            license="MIT (repository); Materials Project data CC BY 4.0",
            citation=(
                "G. Petretto, S. Dwaraknath, H. P. C. Miranda, D. Winston, M. Giantomassi, "
                "M. J. van Setten, X. Gonze, K. A. Persson, G. Hautier, G.-M. Rignanese, "
                "'High-throughput density-functional perturbation theory phonons for inorganic "
                "materials', Sci. Data 5, 180065 (2018); " + _MP_CITE
            ),
            units={
                "frequencies": "THz",
                "qpoints": "fractional coordinates of the reciprocal lattice",
                "reciprocal_lattice": "1/Å (includes 2π)",
                "dos_frequencies": "THz",
                "dos_densities": "states/THz per cell (integrates to 3 n_atoms)",
                "positions": "Å",
            },
        ),
        DatasetEntry(
            name="matcalc_elasticity",
            description=(
                "mp-binary-pbe-elasticity-2025.1 (matcalc benchmark): 3953 binary Materials "
                "Project structures with VRH bulk and shear moduli."
            ),
            repo="materialsvirtuallab/matcalc",
            commit="27f2d5f44b2bc045ff47446c599a3b6aba298b7f",
            files=tuple(f for f in matcalc if "elasticity" in f.path),
            license="BSD-3-Clause (repository); Materials Project data CC BY 4.0",
            citation=(
                "M. de Jong et al., 'Charting the complete elastic properties of inorganic "
                "crystalline compounds', Sci. Data 2, 150009 (2015); " + _MP_CITE
            ),
            units={
                "bulk_modulus_vrh": "GPa",
                "shear_modulus_vrh": "GPa",
                "log10_bulk_modulus_vrh": "log10(GPa)",
                "log10_shear_modulus_vrh": "log10(GPa)",
                "positions": "Å",
            },
        ),
        DatasetEntry(
            name="matcalc_heat_capacity",
            description=(
                "alexandria-binary-pbe-phonon-2025.1 (matcalc benchmark): 1170 binary structures "
                "with the harmonic phonon heat capacity at 300 K."
            ),
            repo="materialsvirtuallab/matcalc",
            commit="27f2d5f44b2bc045ff47446c599a3b6aba298b7f",
            files=tuple(f for f in matcalc if "phonon" in f.path),
            license="BSD-3-Clause (repository); Alexandria data CC BY 4.0",
            citation=(
                "J. Schmidt, H.-C. Wang, T. F. T. Cerqueira, S. Botti, M. A. L. Marques, "
                "'A dataset of 175k stable and metastable materials calculated with the PBEsol "
                "and SCAN functionals', Sci. Data 9, 64 (2022) (Alexandria); matcalc, "
                "Materials Virtual Lab"
            ),
            units={"heat_capacity": "J/(K mol) per mole of the given cell", "positions": "Å"},
        ),
        DatasetEntry(
            name="perov_5",
            description=(
                "perov_5 (CDVAE) validation and test splits: 7572 cubic ABX3 perovskites (5 atoms) "
                "as CIF text with heats of formation (heat_all, heat_ref) and GLLB-SC direct / "
                "indirect gaps. The training split is not available here."
            ),
            repo="OPRYAN90/cdvae",
            commit="73874c48a46b74fedaa161fdac512b0a75e2d336",
            files=perov,
            license="MIT (repository, a fork of txie-93/cdvae)",
            citation=(
                "I. E. Castelli et al., 'New cubic perovskites for one- and two-photon water "
                "splitting using the computational materials repository', Energy Environ. Sci. "
                "5, 9034 (2012); T. Xie, X. Fu, O.-E. Ganea, R. Barzilay, T. Jaakkola, 'Crystal "
                "Diffusion Variational Autoencoder for Periodic Material Generation', ICLR (2022)"
            ),
            units={
                "heat_all": "eV (CMR heat of formation w.r.t. standard states)",
                "heat_ref": "eV (CMR heat of formation w.r.t. reference phases)",
                "dir_gap": "eV",
                "ind_gap": "eV",
                "positions": "Å",
            },
        ),
        DatasetEntry(
            name="ani1_subset",
            description=(
                "ANI-1 subset ani_gdb_s01.h5: 10,800 conformations of CH4, NH3, H2O with DFT "
                "(wB97x/6-31G(d)) energies, no forces. HDF5: reading it needs h5py, which the "
                "course environment does not install; the entry is here for provenance."
            ),
            repo="stefanhoedl/JAT_potential",
            commit="cb5bd6ed47b806a01027d8163be4f77e5dadadca",
            files=ani,
            license="Apache-2.0 (repository); ANI-1 data CC BY 4.0",
            citation=(
                "J. S. Smith, O. Isayev, A. E. Roitberg, 'ANI-1, A data set of 20 million "
                "calculated off-equilibrium conformations for organic molecules', "
                "Sci. Data 4, 170193 (2017)"
            ),
            units={"energy": "Hartree", "positions": "Å"},
        ),
    ]
    return {e.name: e for e in entries}
