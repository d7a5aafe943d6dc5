//! Typed RPM tag numbers.
//!
//! There are two tag spaces. [`Tag`] numbers entries of the main header (and of rpmdb blobs
//! and APT header lists); [`SigTag`] numbers entries of the signature header of a `.rpm`
//! file. They overlap (1000 is `NAME` in one and `SIZE` in the other), so they are separate
//! types and [`crate::Header`] is generic over them. [`SigTag::to_header_tag`] is the
//! renumbering librpm applies when it merges the signature header into the main one.
//!
//! Names follow librpm's `rpmtag.h` without the `RPMTAG_` / `RPMSIGTAG_` prefix; the APT index
//! tags (1000000+) are ALT apt-rpm's, named as in the original uploader.

use std::fmt;

mod sealed {
    pub trait Sealed {}
}

/// A tag space: [`Tag`] or [`SigTag`]. Sealed; used to make [`crate::Header`] generic.
pub trait TagKind:
    Copy + Eq + Ord + std::hash::Hash + fmt::Debug + fmt::Display + sealed::Sealed + 'static
{
    /// The region tag a header of this kind starts with (63 for the main header, 62 for the
    /// signature header).
    const REGION: u32;
    /// Wraps a raw number.
    fn from_raw(raw: u32) -> Self;
    /// The raw number.
    fn raw(self) -> u32;
    /// The tag as an [`AnyTag`], for errors.
    fn any(self) -> AnyTag;
}

/// A main-header tag number (`RPMTAG_*`). Unknown numbers are allowed and display as
/// `Unknown(n)`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(pub u32);

/// A signature-header tag number (`RPMSIGTAG_*`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SigTag(pub u32);

/// A tag of either space, as carried by [`crate::Error`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AnyTag {
    /// A main-header tag.
    Header(Tag),
    /// A signature-header tag.
    Signature(SigTag),
}

impl fmt::Display for AnyTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnyTag::Header(t) => t.fmt(f),
            AnyTag::Signature(t) => write!(f, "signature {t}"),
        }
    }
}

macro_rules! tag_table {
    ($ty:ident, $prefix:literal, $lookup:ident { $($name:ident = $num:literal,)* }) => {
        impl $ty {
            $(
                #[doc = concat!("`", $prefix, stringify!($name), "` (", stringify!($num), ").")]
                pub const $name: $ty = $ty($num);
            )*
        }
        fn $lookup(raw: u32) -> Option<&'static str> {
            match raw {
                $($num => Some(stringify!($name)),)*
                _ => None,
            }
        }
    };
}

tag_table!(Tag, "RPMTAG_", header_tag_name {
    HEADERIMAGE = 61,
    HEADERSIGNATURES = 62,
    HEADERIMMUTABLE = 63,
    HEADERREGIONS = 64,
    HEADERI18NTABLE = 100,
    SIGSIZE = 257,
    SIGLEMD5_1 = 258,
    SIGPGP = 259,
    SIGLEMD5_2 = 260,
    SIGMD5 = 261,
    SIGGPG = 262,
    SIGPGP5 = 263,
    BADSHA1_1 = 264,
    BADSHA1_2 = 265,
    PUBKEYS = 266,
    DSAHEADER = 267,
    RSAHEADER = 268,
    SHA1HEADER = 269,
    LONGSIGSIZE = 270,
    LONGARCHIVESIZE = 271,
    SHA256HEADER = 273,
    FILESIGNATURES_SIG = 274,
    FILESIGNATURELENGTH_SIG = 275,
    VERITYSIGNATURES = 276,
    VERITYSIGNATUREALGO = 277,
    NAME = 1000,
    VERSION = 1001,
    RELEASE = 1002,
    EPOCH = 1003,
    SUMMARY = 1004,
    DESCRIPTION = 1005,
    BUILDTIME = 1006,
    BUILDHOST = 1007,
    INSTALLTIME = 1008,
    SIZE = 1009,
    DISTRIBUTION = 1010,
    VENDOR = 1011,
    GIF = 1012,
    XPM = 1013,
    LICENSE = 1014,
    PACKAGER = 1015,
    GROUP = 1016,
    CHANGELOG = 1017,
    SOURCE = 1018,
    PATCH = 1019,
    URL = 1020,
    OS = 1021,
    ARCH = 1022,
    PREIN = 1023,
    POSTIN = 1024,
    PREUN = 1025,
    POSTUN = 1026,
    OLDFILENAMES = 1027,
    FILESIZES = 1028,
    FILESTATES = 1029,
    FILEMODES = 1030,
    FILEUIDS = 1031,
    FILEGIDS = 1032,
    FILERDEVS = 1033,
    FILEMTIMES = 1034,
    FILEMD5S = 1035,
    FILELINKTOS = 1036,
    FILEFLAGS = 1037,
    ROOT = 1038,
    FILEUSERNAME = 1039,
    FILEGROUPNAME = 1040,
    EXCLUDE = 1041,
    EXCLUSIVE = 1042,
    ICON = 1043,
    SOURCERPM = 1044,
    FILEVERIFYFLAGS = 1045,
    ARCHIVESIZE = 1046,
    PROVIDENAME = 1047,
    REQUIREFLAGS = 1048,
    REQUIRENAME = 1049,
    REQUIREVERSION = 1050,
    NOSOURCE = 1051,
    NOPATCH = 1052,
    CONFLICTFLAGS = 1053,
    CONFLICTNAME = 1054,
    CONFLICTVERSION = 1055,
    DEFAULTPREFIX = 1056,
    BUILDROOT = 1057,
    INSTALLPREFIX = 1058,
    EXCLUDEARCH = 1059,
    EXCLUDEOS = 1060,
    EXCLUSIVEARCH = 1061,
    EXCLUSIVEOS = 1062,
    AUTOREQPROV = 1063,
    RPMVERSION = 1064,
    TRIGGERSCRIPTS = 1065,
    TRIGGERNAME = 1066,
    TRIGGERVERSION = 1067,
    TRIGGERFLAGS = 1068,
    TRIGGERINDEX = 1069,
    VERIFYSCRIPT = 1079,
    CHANGELOGTIME = 1080,
    CHANGELOGNAME = 1081,
    CHANGELOGTEXT = 1082,
    BROKENMD5 = 1083,
    PREREQ = 1084,
    PREINPROG = 1085,
    POSTINPROG = 1086,
    PREUNPROG = 1087,
    POSTUNPROG = 1088,
    BUILDARCHS = 1089,
    OBSOLETENAME = 1090,
    VERIFYSCRIPTPROG = 1091,
    TRIGGERSCRIPTPROG = 1092,
    DOCDIR = 1093,
    COOKIE = 1094,
    FILEDEVICES = 1095,
    FILEINODES = 1096,
    FILELANGS = 1097,
    PREFIXES = 1098,
    INSTPREFIXES = 1099,
    TRIGGERIN = 1100,
    TRIGGERUN = 1101,
    TRIGGERPOSTUN = 1102,
    AUTOREQ = 1103,
    AUTOPROV = 1104,
    CAPABILITY = 1105,
    SOURCEPACKAGE = 1106,
    OLDORIGFILENAMES = 1107,
    BUILDPREREQ = 1108,
    BUILDREQUIRES = 1109,
    BUILDCONFLICTS = 1110,
    BUILDMACROS = 1111,
    PROVIDEFLAGS = 1112,
    PROVIDEVERSION = 1113,
    OBSOLETEFLAGS = 1114,
    OBSOLETEVERSION = 1115,
    DIRINDEXES = 1116,
    BASENAMES = 1117,
    DIRNAMES = 1118,
    ORIGDIRINDEXES = 1119,
    ORIGBASENAMES = 1120,
    ORIGDIRNAMES = 1121,
    OPTFLAGS = 1122,
    DISTURL = 1123,
    PAYLOADFORMAT = 1124,
    PAYLOADCOMPRESSOR = 1125,
    PAYLOADFLAGS = 1126,
    INSTALLCOLOR = 1127,
    INSTALLTID = 1128,
    REMOVETID = 1129,
    SHA1RHN = 1130,
    RHNPLATFORM = 1131,
    PLATFORM = 1132,
    PATCHESNAME = 1133,
    PATCHESFLAGS = 1134,
    PATCHESVERSION = 1135,
    CACHECTIME = 1136,
    CACHEPKGPATH = 1137,
    CACHEPKGSIZE = 1138,
    CACHEPKGMTIME = 1139,
    FILECOLORS = 1140,
    FILECLASS = 1141,
    CLASSDICT = 1142,
    FILEDEPENDSX = 1143,
    FILEDEPENDSN = 1144,
    DEPENDSDICT = 1145,
    SOURCEPKGID = 1146,
    FILECONTEXTS = 1147,
    FSCONTEXTS = 1148,
    RECONTEXTS = 1149,
    POLICIES = 1150,
    PRETRANS = 1151,
    POSTTRANS = 1152,
    PRETRANSPROG = 1153,
    POSTTRANSPROG = 1154,
    DISTTAG = 1155,
    OLDSUGGESTSNAME = 1156,
    OLDSUGGESTSVERSION = 1157,
    OLDSUGGESTSFLAGS = 1158,
    OLDENHANCESNAME = 1159,
    OLDENHANCESVERSION = 1160,
    OLDENHANCESFLAGS = 1161,
    PRIORITY = 1162,
    CVSID = 1163,
    BLINKPKGID = 1164,
    BLINKHDRID = 1165,
    BLINKNEVRA = 1166,
    FLINKPKGID = 1167,
    FLINKHDRID = 1168,
    FLINKNEVRA = 1169,
    PACKAGEORIGIN = 1170,
    TRIGGERPREIN = 1171,
    BUILDSUGGESTS = 1172,
    BUILDENHANCES = 1173,
    SCRIPTSTATES = 1174,
    SCRIPTMETRICS = 1175,
    BUILDCPUCLOCK = 1176,
    FILEDIGESTALGOS = 1177,
    VARIANTS = 1178,
    XMAJOR = 1179,
    XMINOR = 1180,
    REPOTAG = 1181,
    KEYWORDS = 1182,
    BUILDPLATFORMS = 1183,
    PACKAGECOLOR = 1184,
    PACKAGEPREFCOLOR = 1185,
    XATTRSDICT = 1186,
    FILEXATTRSX = 1187,
    DEPATTRSDICT = 1188,
    CONFLICTATTRSX = 1189,
    OBSOLETEATTRSX = 1190,
    PROVIDEATTRSX = 1191,
    REQUIREATTRSX = 1192,
    BUILDPROVIDES = 1193,
    BUILDOBSOLETES = 1194,
    DBINSTANCE = 1195,
    NVRA = 1196,
    FILENAMES = 5000,
    FILEPROVIDE = 5001,
    FILEREQUIRE = 5002,
    FSNAMES = 5003,
    FSSIZES = 5004,
    TRIGGERCONDS = 5005,
    TRIGGERTYPE = 5006,
    ORIGFILENAMES = 5007,
    LONGFILESIZES = 5008,
    LONGSIZE = 5009,
    FILECAPS = 5010,
    FILEDIGESTALGO = 5011,
    BUGURL = 5012,
    EVR = 5013,
    NVR = 5014,
    NEVR = 5015,
    NEVRA = 5016,
    HEADERCOLOR = 5017,
    VERBOSE = 5018,
    EPOCHNUM = 5019,
    PREINFLAGS = 5020,
    POSTINFLAGS = 5021,
    PREUNFLAGS = 5022,
    POSTUNFLAGS = 5023,
    PRETRANSFLAGS = 5024,
    POSTTRANSFLAGS = 5025,
    VERIFYSCRIPTFLAGS = 5026,
    TRIGGERSCRIPTFLAGS = 5027,
    COLLECTIONS = 5029,
    POLICYNAMES = 5030,
    POLICYTYPES = 5031,
    POLICYTYPESINDEXES = 5032,
    POLICYFLAGS = 5033,
    VCS = 5034,
    ORDERNAME = 5035,
    ORDERVERSION = 5036,
    ORDERFLAGS = 5037,
    MSSFMANIFEST = 5038,
    MSSFDOMAIN = 5039,
    INSTFILENAMES = 5040,
    REQUIRENEVRS = 5041,
    PROVIDENEVRS = 5042,
    OBSOLETENEVRS = 5043,
    CONFLICTNEVRS = 5044,
    FILENLINKS = 5045,
    RECOMMENDNAME = 5046,
    RECOMMENDVERSION = 5047,
    RECOMMENDFLAGS = 5048,
    SUGGESTNAME = 5049,
    SUGGESTVERSION = 5050,
    SUGGESTFLAGS = 5051,
    SUPPLEMENTNAME = 5052,
    SUPPLEMENTVERSION = 5053,
    SUPPLEMENTFLAGS = 5054,
    ENHANCENAME = 5055,
    ENHANCEVERSION = 5056,
    ENHANCEFLAGS = 5057,
    RECOMMENDNEVRS = 5058,
    SUGGESTNEVRS = 5059,
    SUPPLEMENTNEVRS = 5060,
    ENHANCENEVRS = 5061,
    ENCODING = 5062,
    FILETRIGGERIN = 5063,
    FILETRIGGERUN = 5064,
    FILETRIGGERPOSTUN = 5065,
    FILETRIGGERSCRIPTS = 5066,
    FILETRIGGERSCRIPTPROG = 5067,
    FILETRIGGERSCRIPTFLAGS = 5068,
    FILETRIGGERNAME = 5069,
    FILETRIGGERINDEX = 5070,
    FILETRIGGERVERSION = 5071,
    FILETRIGGERFLAGS = 5072,
    TRANSFILETRIGGERIN = 5073,
    TRANSFILETRIGGERUN = 5074,
    TRANSFILETRIGGERPOSTUN = 5075,
    TRANSFILETRIGGERSCRIPTS = 5076,
    TRANSFILETRIGGERSCRIPTPROG = 5077,
    TRANSFILETRIGGERSCRIPTFLAGS = 5078,
    TRANSFILETRIGGERNAME = 5079,
    TRANSFILETRIGGERINDEX = 5080,
    TRANSFILETRIGGERVERSION = 5081,
    TRANSFILETRIGGERFLAGS = 5082,
    REMOVEPATHPOSTFIXES = 5083,
    FILETRIGGERPRIORITIES = 5084,
    TRANSFILETRIGGERPRIORITIES = 5085,
    FILETRIGGERCONDS = 5086,
    FILETRIGGERTYPE = 5087,
    TRANSFILETRIGGERCONDS = 5088,
    TRANSFILETRIGGERTYPE = 5089,
    FILESIGNATURES = 5090,
    FILESIGNATURELENGTH = 5091,
    PAYLOADDIGEST = 5092,
    PAYLOADDIGESTALGO = 5093,
    AUTOINSTALLED = 5094,
    IDENTITY = 5095,
    MODULARITYLABEL = 5096,
    PAYLOADDIGESTALT = 5097,
    APTINDEXLEGACYFILENAME = 1000000,
    APTINDEXLEGACYFILESIZE = 1000001,
    APTINDEXLEGACYMD5 = 1000005,
    APTINDEXLEGACYSHA1 = 1000006,
    APTINDEXLEGACYSHA256 = 1000007,
    APTINDEXLEGACYSHA512 = 1000008,
    APTINDEXLEGACYBLAKE2B = 1000009,
    APTINDEXLEGACYDIRECTORY = 1000010,
    APTINDEXLEGACYBINARY = 1000011,
    APTINDEXLEGACYUPDATE_SUMMARY = 1000020,
    APTINDEXLEGACYUPDATE_IMPORTANCE = 1000021,
    APTINDEXLEGACYUPDATE_DATE = 1000022,
    APTINDEXLEGACYUPDATE_URL = 1000023,
});

impl Tag {
    /// `RPMTAG_SERIAL`, the pre-rpm-4 name of [`Tag::EPOCH`].
    pub const SERIAL: Tag = Tag::EPOCH;
    /// `RPMTAG_FILEDIGESTS`, the rpm ≥ 4.6 name of [`Tag::FILEMD5S`].
    pub const FILEDIGESTS: Tag = Tag::FILEMD5S;
    /// `RPMTAG_PKGID`, another name of [`Tag::SIGMD5`].
    pub const PKGID: Tag = Tag::SIGMD5;
    /// `RPMTAG_HDRID`, another name of [`Tag::SHA1HEADER`].
    pub const HDRID: Tag = Tag::SHA1HEADER;

    /// The librpm name without the `RPMTAG_` prefix, if the number is known.
    pub fn name(self) -> Option<&'static str> {
        header_tag_name(self.0)
    }
}

tag_table!(SigTag, "RPMSIGTAG_", sig_tag_name {
    HEADERIMAGE = 61,
    HEADERSIGNATURES = 62,
    HEADERIMMUTABLE = 63,
    BADSHA1_1 = 264,
    BADSHA1_2 = 265,
    PUBKEYS = 266,
    DSA = 267,
    RSA = 268,
    SHA1 = 269,
    LONGSIZE = 270,
    LONGARCHIVESIZE = 271,
    RESERVED = 272,
    SHA256 = 273,
    FILESIGNATURES = 274,
    FILESIGNATURELENGTH = 275,
    VERITYSIGNATURES = 276,
    VERITYSIGNATUREALGO = 277,
    SIZE = 1000,
    LEMD5_1 = 1001,
    PGP = 1002,
    LEMD5_2 = 1003,
    MD5 = 1004,
    GPG = 1005,
    PGP5 = 1006,
    PAYLOADSIZE = 1007,
    RESERVEDSPACE = 1008,
});

impl SigTag {
    /// The librpm name without the `RPMSIGTAG_` prefix, if the number is known.
    pub fn name(self) -> Option<&'static str> {
        sig_tag_name(self.0)
    }

    /// The main-header tag this signature tag becomes when the signature header is merged
    /// into the main header, or `None` if the tag is dropped.
    ///
    /// This is the table of the original's `altrpm` (the same as librpm's
    /// `headerMergeLegacySigs`): 1000→257 SIGSIZE, 1001→258, 1002→259 SIGPGP, 1003→260,
    /// 1004→261 SIGMD5, 1005→262 SIGGPG, 1006→263 SIGPGP5, 1007→1046 ARCHIVESIZE; 264…271
    /// and 273…277 keep their number; everything else (1008, 272, the region tag 62, …) is
    /// dropped.
    pub fn to_header_tag(self) -> Option<Tag> {
        match self.0 {
            n @ 1000..=1006 => Some(Tag(n - 1000 + 257)),
            1007 => Some(Tag::ARCHIVESIZE),
            n @ (264..=271 | 273..=277) => Some(Tag(n)),
            _ => None,
        }
    }
}

impl sealed::Sealed for Tag {}
impl sealed::Sealed for SigTag {}

impl TagKind for Tag {
    const REGION: u32 = 63;
    fn from_raw(raw: u32) -> Self {
        Tag(raw)
    }
    fn raw(self) -> u32 {
        self.0
    }
    fn any(self) -> AnyTag {
        AnyTag::Header(self)
    }
}

impl TagKind for SigTag {
    const REGION: u32 = 62;
    fn from_raw(raw: u32) -> Self {
        SigTag(raw)
    }
    fn raw(self) -> u32 {
        self.0
    }
    fn any(self) -> AnyTag {
        AnyTag::Signature(self)
    }
}

impl From<Tag> for u32 {
    fn from(t: Tag) -> u32 {
        t.0
    }
}

impl From<SigTag> for u32 {
    fn from(t: SigTag) -> u32 {
        t.0
    }
}

/// Renders `NAME(1000)` or `Unknown(1234)`.
impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}({})", self.0),
            None => write!(f, "Unknown({})", self.0),
        }
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Renders `MD5(1004)` or `Unknown(1234)`.
impl fmt::Display for SigTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}({})", self.0),
            None => write!(f, "Unknown({})", self.0),
        }
    }
}

impl fmt::Debug for SigTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_display() {
        assert_eq!(Tag::NAME.to_string(), "NAME(1000)");
        assert_eq!(Tag(4242).to_string(), "Unknown(4242)");
        assert_eq!(SigTag::MD5.to_string(), "MD5(1004)");
        assert_eq!(Tag::SERIAL, Tag::EPOCH);
        assert_eq!(Tag::DISTTAG.0, 1155);
        assert_eq!(Tag::APTINDEXLEGACYBLAKE2B.0, 1_000_009);
        assert_eq!(
            AnyTag::Signature(SigTag::SIZE).to_string(),
            "signature SIZE(1000)"
        );
    }

    #[test]
    fn signature_renumbering_matches_the_original_table() {
        let cases = [
            (1000, Some(257)),
            (1001, Some(258)),
            (1002, Some(259)),
            (1003, Some(260)),
            (1004, Some(261)),
            (1005, Some(262)),
            (1006, Some(263)),
            (1007, Some(1046)),
            (1008, None),
            (62, None),
            (263, None),
            (264, Some(264)),
            (269, Some(269)),
            (271, Some(271)),
            (272, None),
            (273, Some(273)),
            (277, Some(277)),
            (278, None),
            (5092, None),
        ];
        for (sig, want) in cases {
            assert_eq!(SigTag(sig).to_header_tag().map(|t| t.0), want, "{sig}");
        }
    }
}
