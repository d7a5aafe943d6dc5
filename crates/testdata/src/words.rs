//! Word lists for names, people and texts. All people are fictional.

/// A packager: display name and `altlinux.org` login.
#[derive(Debug, Clone, Copy)]
pub struct Person {
    /// `Name Surname` (a few are in Cyrillic).
    pub name: &'static str,
    /// Login, the part before `@altlinux.org`.
    pub login: &'static str,
}

const fn p(name: &'static str, login: &'static str) -> Person {
    Person { name, login }
}

/// Fictional maintainers.
pub const PEOPLE: &[Person] = &[
    p("Alexey Sidorov", "asidorov"),
    p("Dmitry Volkov", "dvolkov"),
    p("Elena Morozova", "lenam"),
    p("Sergey Kuznetsov", "skuzn"),
    p("Anton Lebedev", "antonl"),
    p("Olga Fedorova", "olgaf"),
    p("Pavel Novikov", "pnov"),
    p("Mikhail Sokolov", "msok"),
    p("Irina Vasilyeva", "irinav"),
    p("Nikolay Popov", "npopov"),
    p("Andrey Orlov", "aorlov"),
    p("Vitaly Zaitsev", "vzai"),
    p("Yuri Pavlov", "yupa"),
    p("Tatiana Semenova", "tsem"),
    p("Kirill Egorov", "kegorov"),
    p("Denis Kozlov", "dkoz"),
    p("Roman Stepanov", "rstep"),
    p("Maxim Nikitin", "mnik"),
    p("Grigory Belov", "gbelov"),
    p("Artem Komarov", "akom"),
    p("Vladimir Gusev", "vgus"),
    p("Stanislav Titov", "stitov"),
    p("Evgeny Kiselev", "ekis"),
    p("Ilya Makarov", "imak"),
    p("Oleg Zakharov", "ozak"),
    p("Konstantin Romanov", "kroman"),
    p("Anastasia Baranova", "abar"),
    p("Leonid Frolov", "lfrolov"),
    p("Boris Karpov", "bkarp"),
    p("Fedor Mironov", "fmir"),
    p("Timur Gareev", "tgar"),
    p("Ruslan Safin", "rsaf"),
    p("Jürgen Weiß", "jweiss"),
    p("Иван Петров", "ipetrov"),
    p("Мария Соколова", "msokolova"),
    p("ALT Beekeeper", "beekeeper"),
];

/// Consonants of generated name syllables. No `l`, so no generated base name starts with
/// `lib` (the `lib<name>` subpackages stay unique).
pub const CONSONANTS: &[u8] = b"bcdfghkmnprstvz";
/// Vowels of generated name syllables.
pub const VOWELS: &[u8] = b"aeiou";
/// Optional endings of base names. Each starts with a consonant that is never followed by
/// a vowel, so a name still splits uniquely into syllables and an ending.
pub const ENDINGS: &[&str] = &["", "x", "n", "r", "s", "ck", "nd", "t"];

/// Words for summaries, descriptions and file names.
pub const WORDS: &[&str] = &[
    "archive", "audio", "buffer", "cache", "config", "codec", "daemon", "data", "engine", "event",
    "filter", "font", "format", "graph", "image", "index", "input", "kernel", "layout", "loader",
    "logger", "markup", "media", "mirror", "module", "network", "object", "parser", "pixel",
    "plugin", "policy", "queue", "render", "schema", "script", "server", "session", "shell",
    "socket", "sound", "stream", "style", "table", "template", "terminal", "text", "theme",
    "thread", "token", "tracker", "vector", "viewer", "widget", "window", "worker",
];

/// File-name extensions of bulk data files.
pub const DATA_EXTS: &[&str] = &[
    "html", "png", "svg", "xml", "json", "txt", "css", "js", "dat", "conf", "ui", "desktop",
];

/// ALT package groups.
pub const GROUPS_PROGRAM: &[&str] = &[
    "System/Base",
    "System/Servers",
    "Networking/Other",
    "Graphics",
    "Sound",
    "File tools",
    "Text tools",
    "Monitoring",
    "Games/Puzzles",
    "Office",
    "Development/Other",
    "Emulators",
];

/// Licenses as ALT spells them.
pub const LICENSES: &[&str] = &[
    "GPLv2+",
    "GPL-2.0-or-later",
    "GPL-3.0-or-later",
    "LGPL-2.1-or-later",
    "LGPLv3+",
    "MIT",
    "BSD-3-Clause",
    "Apache-2.0",
    "Artistic-1.0-Perl or GPL-1.0-or-later",
    "ISC",
    "Zlib",
    "Public domain",
];

/// Languages of `%lang` message catalogues.
pub const LANGS: &[&str] = &[
    "ru", "uk", "be", "de", "fr", "es", "pt_BR", "ja", "zh_CN", "kk",
];

/// System libraries binaries link with: `(soname, 64-bit glibc-style version tag)`.
pub const SYSTEM_LIBS: &[(&str, &str)] = &[
    ("libc.so.6", "GLIBC_2.34"),
    ("libm.so.6", "GLIBC_2.29"),
    ("libz.so.1", "ZLIB_1.2.9"),
    ("libstdc++.so.6", "GLIBCXX_3.4.29"),
    ("libgcc_s.so.1", "GCC_3.0"),
    ("libcrypto.so.3", "OPENSSL_3.0.0"),
    ("libssl.so.3", "OPENSSL_3.0.0"),
    ("libglib-2.0.so.0", ""),
    ("libpcre2-8.so.0", ""),
    ("libxml2.so.2", "LIBXML2_2.9.0"),
];

/// Build requirements of source packages.
pub const BUILD_TOOLS: &[&str] = &[
    "gcc-c++",
    "cmake",
    "meson",
    "ninja-build",
    "libtool",
    "pkgconfig",
    "gettext-tools",
    "rpm-macros-cmake",
    "python3-devel",
    "bison",
    "flex",
    "help2man",
];

/// English changelog lines for a release bump; `{lib}`/`{n}` are filled in.
pub const REBUILD_TEXTS: &[&str] = &[
    "- Rebuilt with {lib}.",
    "- Fixed build with gcc{n}.",
    "- Fixed FTBFS (closes: #{bug}).",
    "- Spec: cleaned up.",
    "- Added watch file.",
    "- NMU: rebuilt for python3.{n}.",
    "- Applied upstream fix for CVE-20{n}-{bug}.",
    "- Moved documentation to a -doc subpackage.",
];

/// Cyrillic changelog lines for a release bump.
pub const REBUILD_TEXTS_RU: &[&str] = &[
    "- Пересборка с {lib}.",
    "- Исправлена сборка с gcc{n}.",
    "- Исправлена ошибка сборки (closes: #{bug}).",
    "- Спек: мелкие исправления.",
    "- Документация вынесена в отдельный подпакет.",
];

/// English changelog lines for a new version.
pub const UPDATE_TEXTS: &[&str] = &[
    "- Updated to {v}.",
    "- New version {v}.",
    "- {v} released.",
    "- {v} (fixes: CVE-20{n}-{bug}).",
    "- Updated to {v} (closes: #{bug}).",
];

/// Cyrillic changelog lines for a new version.
pub const UPDATE_TEXTS_RU: &[&str] = &["- Обновление до версии {v}.", "- Новая версия {v}."];

/// Lines that may follow the first line of an entry.
pub const EXTRA_TEXTS: &[&str] = &[
    "- Dropped obsolete patches.",
    "- Enabled tests.",
    "- Thanks to Jürgen Weiß for the report.",
    "- Исправлены зависимости.",
    "- Packaged man pages.",
    "- Built with LTO.",
];
