//! Every user-facing string of the terminal UI, in English, Russian and
//! Kazakh (Cyrillic).
//!
//! Messages are looked up by [`Msg`]; placeholders are `{name}` and are
//! filled by [`fill`]. Technical codes (`sni_filtered`, operation names,
//! failure strings) stay untranslated on purpose: they are what people
//! search for and what researchers compare across reports.

use crate::catalog::EndpointKind;
use crate::measurement::Diagnosis;

/// A UI language.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    En,
    Ru,
    Kk,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Ru, Lang::Kk];

    /// A language from a tag like `ru`, `ru_RU.UTF-8`, `kk-KZ` or `en`;
    /// `None` for anything else (including `C` and `POSIX`).
    pub fn parse(tag: &str) -> Option<Lang> {
        let code: String = tag
            .chars()
            .take_while(char::is_ascii_alphabetic)
            .collect::<String>()
            .to_ascii_lowercase();
        match code.as_str() {
            "en" => Some(Lang::En),
            "ru" => Some(Lang::Ru),
            "kk" => Some(Lang::Kk),
            _ => None,
        }
    }

    /// The explicit choice if it names a language, else the first set
    /// locale variable in POSIX precedence (`LC_ALL`, `LC_MESSAGES`,
    /// `LANG`), else English. An unknown locale means English rather than
    /// falling through, since that variable is the one the user set.
    pub fn detect(explicit: Option<&str>, env: &[Option<&str>]) -> Lang {
        if let Some(lang) = explicit.and_then(Lang::parse) {
            return lang;
        }
        env.iter()
            .flatten()
            .find(|v| !v.is_empty())
            .and_then(|v| Lang::parse(v))
            .unwrap_or_default()
    }

    /// [`Lang::detect`] with this process's environment.
    pub fn from_env(explicit: Option<&str>) -> Lang {
        let vars = ["LC_ALL", "LC_MESSAGES", "LANG"].map(|k| std::env::var(k).ok());
        let refs: Vec<Option<&str>> = vars.iter().map(Option::as_deref).collect();
        Lang::detect(explicit, &refs)
    }

    fn index(self) -> usize {
        match self {
            Lang::En => 0,
            Lang::Ru => 1,
            Lang::Kk => 2,
        }
    }
}

/// Replaces each `{name}` in `template` with its value.
pub fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

macro_rules! catalog {
    ($($key:ident => [$en:expr, $ru:expr, $kk:expr $(,)?],)*) => {
        /// A message key; [`tr`] gives its text.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Msg { $($key,)* }

        impl Msg {
            pub const ALL: &[Msg] = &[$(Msg::$key,)*];
        }

        fn table(msg: Msg) -> [&'static str; 3] {
            match msg { $(Msg::$key => [$en, $ru, $kk],)* }
        }
    };
}

/// The text of `msg` in `lang`.
pub fn tr(lang: Lang, msg: Msg) -> &'static str {
    table(msg)[lang.index()]
}

catalog! {
    // Header.
    Progress => [
        "{done}/{total} done · {running} running",
        "{done}/{total} готово · {running} в работе",
        "{done}/{total} дайын · {running} жүріп жатыр",
    ],
    Tally => [" · {ok} work · {failed} failed", " · {ok} работают · {failed} не работают", " · {ok} істейді · {failed} істемейді"],
    ScanComplete => [" · scan complete", " · проверка завершена", " · тексеру аяқталды"],
    ScanCancelled => [" · cancelled", " · отменено", " · тоқтатылды"],
    FilterKind => ["kind", "тип", "түрі"],
    FilterWorking => ["working only", "только рабочие", "тек істейтіндер"],
    FilterFailed => ["failed only", "только нерабочие", "тек істемейтіндер"],
    SortLatency => ["sorted by latency", "по задержке", "кідіріс бойынша"],
    SortName => ["sorted by name", "по имени", "атауы бойынша"],
    // Table.
    ColStatus => ["Status", "Статус", "Күйі"],
    ColKind => ["Kind", "Тип", "Түрі"],
    ColName => ["Name", "Имя", "Атауы"],
    ColLatency => ["Latency", "Задержка", "Кідіріс"],
    ColWhy => ["Why", "Почему", "Себебі"],
    NoEndpoints => ["No endpoints to test.", "Нечего проверять.", "Тексеретін ештеңе жоқ."],
    NoMatches => [
        "No endpoint matches the filter (f, s, / change it).",
        "Под фильтр ничего не подходит (f, s, / меняют его).",
        "Сүзгіге ештеңе сәйкес келмейді (f, s, / арқылы өзгертіңіз).",
    ],
    StatusWaiting => ["· waiting", "· ждёт", "· күтуде"],
    StatusTesting => ["… testing", "… проверка", "… тексеруде"],
    StatusWorks => ["✔ works", "✔ работает", "✔ істейді"],
    StatusFailed => ["✘ failed", "✘ не работает", "✘ істемейді"],
    StatusFront => ["? answers", "? отвечает", "? жауап береді"],
    AfterOp => ["after {op}", "после {op}", "{op} кейін"],
    Starting => ["starting", "запуск", "басталуда"],
    PhraseAtOp => ["{phrase} at {op}", "{phrase} на {op}", "{phrase} ({op} кезеңінде)"],
    Failed => ["failed", "не работает", "істемейді"],
    // Footer.
    KeyMove => ["move", "выбор", "жылжу"],
    KeyPage => ["page", "страница", "бет"],
    KeyDetails => ["details", "подробно", "толығырақ"],
    KeyHideDetails => ["hide details", "скрыть", "жасыру"],
    KeyCopy => ["copy", "копировать", "көшіру"],
    KeySearch => ["search", "поиск", "іздеу"],
    KeyFilterSort => ["filter/sort", "фильтр/порядок", "сүзгі/реттеу"],
    KeyExport => ["export", "экспорт", "экспорт"],
    KeyHelp => ["help", "справка", "анықтама"],
    KeyQuit => ["quit", "выход", "шығу"],
    SearchPrompt => [
        "search: {text}▏ Enter keep · Esc clear",
        "поиск: {text}▏ Enter оставить · Esc сбросить",
        "іздеу: {text}▏ Enter қалдыру · Esc тазалау",
    ],
    // Help overlay.
    HelpTitle => [" Keys ", " Клавиши ", " Пернелер "],
    HelpMove => ["move the selection", "перемещать выбор", "таңдауды жылжыту"],
    HelpPage => ["one page up or down", "на страницу вверх или вниз", "бір бет жоғары не төмен"],
    HelpEnds => ["first or last row", "первая или последняя строка", "бірінші не соңғы жол"],
    HelpDetails => ["show or hide details", "показать или скрыть подробности", "толығырақ көрсету не жасыру"],
    HelpCopy => [
        "copy the selected working endpoint (bridge line or URL)",
        "скопировать выбранный рабочий вариант (строку моста или URL)",
        "таңдалған істейтін нұсқаны көшіру (көпір жолы не URL)",
    ],
    HelpKind => ["filter by kind", "фильтр по типу", "түрі бойынша сүзу"],
    HelpStatus => ["filter: all, working, failed", "фильтр: все, рабочие, нерабочие", "сүзгі: барлығы, істейтін, істемейтін"],
    HelpSearch => ["search names", "поиск по имени", "атауы бойынша іздеу"],
    HelpSort => ["sort: rank, latency, name", "порядок: рейтинг, задержка, имя", "реттеу: рейтинг, кідіріс, атау"],
    HelpPrivacy => [
        "privacy mode: hide addresses of your own endpoints",
        "режим приватности: скрыть адреса ваших мостов и серверов",
        "құпиялық режимі: өз көпірлеріңіз бен серверлеріңіздің мекенжайын жасыру",
    ],
    HelpExport => ["export anonymized results", "экспорт обезличенных результатов", "нәтижелерді жасырын түрде экспорттау"],
    HelpHelp => ["this help", "эта справка", "осы анықтама"],
    HelpQuit => ["quit", "выход", "шығу"],
    HelpClose => ["Press any key to close.", "Нажмите любую клавишу, чтобы закрыть.", "Жабу үшін кез келген пернені басыңыз."],
    // Detail pane.
    DetailsTitle => [" Details ", " Подробности ", " Толығырақ "],
    NothingSelected => ["Nothing selected.", "Ничего не выбрано.", "Ештеңе таңдалмаған."],
    FieldName => ["Name", "Имя", "Атауы"],
    FieldAddress => ["Address", "Адрес", "Мекенжай"],
    FieldVerdict => ["Verdict", "Итог", "Қорытынды"],
    FieldDiagnosis => ["Diagnosis", "Диагноз", "Диагноз"],
    FieldStarted => ["Started", "Начало", "Басталды"],
    FieldDataTest => ["Data test", "Данные", "Деректер"],
    FieldClock => ["Clock", "Часы", "Сағат"],
    FieldBootstrap => ["Bootstrap", "Запуск Tor", "Tor іске қосу"],
    OriginBuiltin => ["built-in list", "встроенный список", "кірістірілген тізім"],
    OriginUser => ["user-supplied", "ваш список", "сіздің тізіміңіз"],
    ForFreeSlot => [" for a free slot", " свободного места", " бос орынды"],
    AfterOpParen => [" (after {op})", " (после {op})", " ({op} кейін)"],
    StartingParen => [" (starting)", " (запуск)", " (басталуда)"],
    LatencyIs => [" · latency {ms}", " · задержка {ms}", " · кідіріс {ms}"],
    AtOp => [" at {op}", " на {op}", " ({op} кезеңінде)"],
    Took => ["{start} · took {time}", "{start} · заняло {time}", "{start} · {time} алды"],
    ClockDiffers => [
        "peer clock differs by {s} s",
        "часы узла расходятся на {s} с",
        "түйін сағаты {s} с айырмашылықта",
    ],
    BootstrapDone => [" in {s} s", " за {s} с", " {s} с ішінде"],
    Steps => ["Steps", "Шаги", "Қадамдар"],
    Notes => ["Notes", "Заметки", "Ескертпелер"],
    DataStalled => [
        "stalled after {n} of {target} bytes ({s} s)",
        "остановилось после {n} из {target} байт ({s} с)",
        "{target} байттың {n} байтынан кейін тоқтады ({s} с)",
    ],
    DataRate => [
        "{bytes} of {target} bytes in {s} s ({rate} KiB/s)",
        "{bytes} из {target} байт за {s} с ({rate} КиБ/с)",
        "{target} байттың {bytes} байты {s} с ішінде ({rate} КиБ/с)",
    ],
    // Summary and recommendation.
    SummaryTitle => [" Summary ", " Итог ", " Қорытынды "],
    MethodsLegend => [
        "working/tested, best latency:",
        "работают/проверено, лучшая задержка:",
        "істейді/тексерілді, ең аз кідіріс:",
    ],
    RecNoResults => [
        "No results yet: testing…",
        "Результатов пока нет: идёт проверка…",
        "Әзірге нәтиже жоқ: тексеру жүріп жатыр…",
    ],
    RecWorks => ["Works here: {list}.", "Здесь работают: {list}.", "Мұнда істейді: {list}."],
    RecCount => ["{name} ({ok} of {n})", "{name} ({ok} из {n})", "{name} ({n} ішінен {ok})"],
    RecNotWorking => [" Not working: {list}.", " Не работают: {list}.", " Істемейді: {list}."],
    RecShutdown => [
        "Nothing tested works from here: every connection timed out or was unreachable — this looks like a general shutdown (or this device is offline).",
        "Отсюда ничего не работает: все соединения завершились тайм-аутом или адреса недоступны — похоже на полное отключение интернета (или это устройство не в сети).",
        "Мұнда тексерілгеннің ешқайсысы істемейді: барлық қосылымның уақыты өтті немесе мекенжайлар қолжетімсіз — бұл интернеттің толық өшірілуіне ұқсайды (немесе бұл құрылғы желіде емес).",
    ],
    RecTargeted => [
        "Nothing tested works from here: {k} of {n} were actively blocked ({causes}) — this looks like targeted blocking; try other bridges or transports.",
        "Отсюда ничего не работает: {k} из {n} активно заблокированы ({causes}) — похоже на целенаправленную блокировку; попробуйте другие мосты или транспорты.",
        "Мұнда тексерілгеннің ешқайсысы істемейді: {n} ішінен {k} белсенді бұғатталды ({causes}) — бұл мақсатты бұғаттауға ұқсайды; басқа көпірлерді не транспорттарды байқап көріңіз.",
    ],
    RecClock => [
        "Nothing tested works, and this computer's clock is wrong: fix the date and time, then test again.",
        "Ничего не работает, а часы этого компьютера идут неверно: исправьте дату и время и проверьте снова.",
        "Ештеңе істемейді, әрі бұл компьютердің сағаты қате: күн мен уақытты түзетіп, қайта тексеріңіз.",
    ],
    RecFronts => [
        " Servers answer but their login is unchecked: {list}; try them in your app.",
        " Серверы отвечают, но вход не проверен: {list}; попробуйте их в своём приложении.",
        " Серверлер жауап береді, бірақ кіру тексерілмеді: {list}; оларды қолданбаңызда байқап көріңіз.",
    ],
    RecNothing => [
        "Nothing tested works from here; each row says why.",
        "Отсюда ничего не работает; причина указана в каждой строке.",
        "Мұнда тексерілгеннің ешқайсысы істемейді; себебі әр жолда көрсетілген.",
    ],
    // Status line messages.
    CopyNotWorking => [
        "only a working endpoint can be copied",
        "скопировать можно только рабочий вариант",
        "тек істейтін нұсқаны көшіруге болады",
    ],
    CopyNothing => ["nothing selected to copy", "ничего не выбрано", "көшіретін ештеңе таңдалмаған"],
    CopyDone => [
        "copied (terminal clipboard) and saved to {path}",
        "скопировано (буфер терминала) и сохранено в {path}",
        "көшірілді (терминал буфері) және {path} файлына сақталды",
    ],
    CopySaveFailed => [
        "copied (terminal clipboard); saving to {path} failed: {error}",
        "скопировано (буфер терминала); сохранить в {path} не удалось: {error}",
        "көшірілді (терминал буфері); {path} файлына сақтау сәтсіз: {error}",
    ],
    PrivacyOn => [
        "privacy mode on: addresses of your own endpoints are hidden",
        "режим приватности включён: адреса ваших мостов и серверов скрыты",
        "құпиялық режимі қосулы: өз мекенжайларыңыз жасырылды",
    ],
    DeepStarted => [
        "deep test started: a full Tor client is bootstrapping through this bridge",
        "глубокая проверка запущена: полный клиент Tor подключается через этот мост",
        "терең тексеру басталды: толық Tor клиенті осы көпір арқылы қосылуда",
    ],
    DeepNotBridge => [
        "the deep test is for Tor bridges",
        "глубокая проверка — только для мостов Tor",
        "терең тексеру тек Tor көпірлеріне арналған",
    ],
    DeepUnavailable => [
        "deep test unavailable here",
        "глубокая проверка здесь недоступна",
        "терең тексеру мұнда қолжетімсіз",
    ],
    HelpDeep => [
        "deep test: bootstrap a full Tor client through the selected bridge",
        "глубокая проверка: запустить полный клиент Tor через выбранный мост",
        "терең тексеру: таңдалған көпір арқылы толық Tor клиентін іске қосу",
    ],
    PrivacyOff => [
        "privacy mode off: addresses are shown",
        "режим приватности выключен: адреса видны",
        "құпиялық режимі өшірулі: мекенжайлар көрінеді",
    ],
    // Re-tests, adding endpoints, settings.
    RetestStarted => ["re-testing {name}", "повторная проверка: {name}", "қайта тексеру: {name}"],
    RetestReplaced => [
        "re-testing {name} again (the earlier re-test was stopped)",
        "снова проверяется {name} (прежняя проверка остановлена)",
        "{name} қайта тексерілуде (алдыңғы тексеру тоқтатылды)",
    ],
    RetestAllStarted => [
        "re-testing all {n} endpoints",
        "повторная проверка всех вариантов: {n}",
        "барлық {n} нұсқа қайта тексерілуде",
    ],
    RetestAllReplaced => [
        "re-testing all {n} endpoints again (the earlier run was stopped)",
        "снова проверяются все варианты: {n} (прежний прогон остановлен)",
        "барлық {n} нұсқа қайтадан тексерілуде (алдыңғы тексеру тоқтатылды)",
    ],
    RetestNothing => ["nothing selected to re-test", "ничего не выбрано для проверки", "қайта тексеретін ештеңе таңдалмаған"],
    RetestUnavailable => [
        "re-testing is unavailable here",
        "повторная проверка здесь недоступна",
        "қайта тексеру мұнда қолжетімсіз",
    ],
    AddPrompt => [
        "add: {text}▏ Enter add · Esc cancel",
        "добавить: {text}▏ Enter добавить · Esc отмена",
        "қосу: {text}▏ Enter қосу · Esc болдырмау",
    ],
    AddPromptMasked => [
        "add: ••• ({n} characters, hidden in privacy mode)▏ Enter add · Esc cancel",
        "добавить: ••• (символов: {n}, скрыто в режиме приватности)▏ Enter добавить · Esc отмена",
        "қосу: ••• ({n} таңба, құпиялық режимінде жасырылған)▏ Enter қосу · Esc болдырмау",
    ],
    AddHint => [
        "paste a bridge line, resolver URL (https://, tls://, sdns://) or link (ss://, vless://, …)",
        "вставьте строку моста, адрес резолвера (https://, tls://, sdns://) или ссылку (ss://, vless://, …)",
        "көпір жолын, резолвер мекенжайын (https://, tls://, sdns://) не сілтемені (ss://, vless://, …) қойыңыз",
    ],
    AddDone => [
        "added {name}; testing it now",
        "добавлено: {name}; идёт проверка",
        "қосылды: {name}; тексерілуде",
    ],
    AddFailed => [
        "could not add this line: {error}",
        "не удалось добавить строку: {error}",
        "бұл жолды қосу мүмкін болмады: {error}",
    ],
    AddUnavailable => [
        "adding endpoints is unavailable here",
        "добавление здесь недоступно",
        "қосу мұнда қолжетімсіз",
    ],
    KeyRetest => ["re-test", "перепроверить", "қайта тексеру"],
    KeyAdd => ["add", "добавить", "қосу"],
    KeySettings => ["settings", "настройки", "баптаулар"],
    HelpRetest => [
        "re-test the selected endpoint (again: restart it)",
        "проверить выбранный вариант снова (ещё раз: перезапустить)",
        "таңдалған нұсқаны қайта тексеру (тағы басу: қайта бастау)",
    ],
    HelpRetestAll => [
        "re-test every endpoint (again: restart the run)",
        "проверить все варианты заново (ещё раз: перезапустить)",
        "барлық нұсқаны қайта тексеру (тағы басу: қайта бастау)",
    ],
    HelpAdd => [
        "add an endpoint: paste a bridge line, resolver URL or link",
        "добавить вариант: вставьте строку моста, адрес резолвера или ссылку",
        "нұсқа қосу: көпір жолын, резолвер мекенжайын не сілтемені қойыңыз",
    ],
    HelpSettings => [
        "settings, and where each one came from",
        "настройки и откуда взято каждое значение",
        "баптаулар және әр мәннің қайдан алынғаны",
    ],
    SettingsTitle => [" Settings ", " Настройки ", " Баптаулар "],
    SettingsEmpty => ["No settings to show.", "Нет настроек для показа.", "Көрсететін баптау жоқ."],
    SourceCli => ["command line", "командная строка", "пәрмен жолы"],
    SourceEnv => ["environment", "переменная окружения", "орта айнымалысы"],
    SourceFile => ["config file", "файл настроек", "баптау файлы"],
    SourceDefault => ["default", "по умолчанию", "әдепкі"],
    NoteLoopbackOnly => [
        "only a local stub resolver is configured: it is the domestic control, though it may answer from its cache",
        "настроен только локальный резолвер-заглушка: он служит внутренним контролем, но может отвечать из кэша",
        "тек жергілікті резолвер бапталған: ол ішкі бақылау болады, бірақ кэштен жауап беруі мүмкін",
    ],
    NoteFromSystemd => [
        "domestic resolvers taken from systemd-resolved",
        "внутренние резолверы взяты из systemd-resolved",
        "ішкі резолверлер systemd-resolved ішінен алынды",
    ],
    NotePublicSkipped => [
        "a public resolver in resolv.conf is not domestic and was skipped",
        "публичный резолвер из resolv.conf не внутренний и пропущен",
        "resolv.conf ішіндегі жалпыға ортақ резолвер ішкі емес, өткізіп жіберілді",
    ],
    NoteNoResolver => [
        "no resolver configured: no domestic control",
        "резолвер не настроен: внутреннего контроля нет",
        "резолвер бапталмаған: ішкі бақылау жоқ",
    ],
    NoteNameSkipped => [
        "--no-system-dns: the control that needs a name lookup is left out",
        "--no-system-dns: контроль, которому нужен поиск имени, пропущен",
        "--no-system-dns: атауды іздеуді қажет ететін бақылау алынып тасталды",
    ],
    // Controls in the summary and the recommendation.
    ControlsLegend => ["Controls:", "Контроль:", "Бақылау:"],
    ScopeDomestic => ["domestic", "внутри страны", "ел ішінде"],
    ScopeForeign => ["foreign", "за рубежом", "шетелде"],
    RecCtlDown => [
        "Nothing tested works, and the network itself looks down here (even the control hosts do not answer): check this device's connection, or wait.",
        "Ничего не работает, и похоже, что сама сеть здесь не работает (не отвечают даже контрольные узлы): проверьте подключение устройства или подождите.",
        "Ештеңе істемейді, әрі мұнда желінің өзі істемейтін сияқты (бақылау түйіндері де жауап бермейді): құрылғының қосылымын тексеріңіз немесе күтіңіз.",
    ],
    RecCtlCut => [
        "Nothing tested works: international traffic looks cut — a domestic host answers, foreign ones do not. Anything that needs a server abroad fails until that changes.",
        "Ничего не работает: похоже, международный трафик отрезан — внутренний узел отвечает, зарубежные нет. Всё, что зависит от серверов за рубежом, не заработает, пока это не изменится.",
        "Ештеңе істемейді: халықаралық трафик үзілген сияқты — ел ішіндегі түйін жауап береді, шетелдегілері жоқ. Шетелдегі серверді қажет ететіннің бәрі бұл өзгергенше істемейді.",
    ],
    RecCtlFiltered => [
        "Nothing tested works, and even ordinary foreign hosts are reset or intercepted: traffic abroad is filtered, so the failing methods are blocked on purpose; try other bridges or transports.",
        "Ничего не работает, и даже обычные зарубежные узлы сбрасываются или перехватываются: трафик за рубеж фильтруется, значит, методы блокируют намеренно; попробуйте другие мосты или транспорты.",
        "Ештеңе істемейді, тіпті қарапайым шетелдік түйіндер де үзіледі не ұсталады: шетелге трафик сүзіледі, демек әдістер әдейі бұғатталған; басқа көпірлерді не транспорттарды байқап көріңіз.",
    ],
    RecCtlUp => [
        "Nothing tested works, but the internet works here (a foreign control host answers), so the failing methods are blocked on purpose ({causes}); try other bridges or transports.",
        "Ничего не работает, но интернет здесь есть (зарубежный контрольный узел отвечает), значит, методы блокируют намеренно ({causes}); попробуйте другие мосты или транспорты.",
        "Ештеңе істемейді, бірақ мұнда интернет бар (шетелдік бақылау түйіні жауап береді), демек әдістер әдейі бұғатталған ({causes}); басқа көпірлерді не транспорттарды байқап көріңіз.",
    ],
    RecCtlBlockedSome => [
        " The internet works here, so the failing methods are blocked on purpose.",
        " Интернет здесь есть, значит, неработающие методы блокируют намеренно.",
        " Мұнда интернет бар, демек істемейтін әдістер әдейі бұғатталған.",
    ],
    ExportUnavailable => [
        "export unavailable: no directory to write to",
        "экспорт недоступен: некуда записать",
        "экспорт мүмкін емес: жазатын каталог жоқ",
    ],
    ExportNothing => ["nothing to export yet", "экспортировать пока нечего", "экспорттайтын әзірге ештеңе жоқ"],
    ExportFailed => ["export failed: {error}", "экспорт не удался: {error}", "экспорт сәтсіз: {error}"],
    ExportDone => [
        "exported (anonymized) to {path}",
        "экспортировано (обезличено) в {path}",
        "{path} файлына экспортталды (жасырын)",
    ],    // Watch mode timeline (`bridgescout watch` on a terminal).
    WatchTitle => ["bridgescout watch", "bridgescout: наблюдение", "bridgescout: бақылау"],
    WatchScanning => [
        "round {round}: testing…",
        "раунд {round}: проверка…",
        "{round}-раунд: тексеруде…",
    ],
    WatchWaiting => [
        "{rounds} rounds done · next at {time}",
        "раундов выполнено: {rounds} · следующий в {time}",
        "орындалған раундтар: {rounds} · келесісі {time}",
    ],
    WatchStopped => [
        "stopped after {rounds} rounds",
        "остановлено после раундов: {rounds}",
        "{rounds} раундтан кейін тоқтатылды",
    ],
    WatchStrip => [
        "Which way out works, round by round (newest on the right)",
        "Какой способ работает, раунд за раундом (новые справа)",
        "Қай жол істейді, раунд сайын (жаңалары оң жақта)",
    ],
    WatchLegend => [
        "✔ works · ✘ failed · · not tested",
        "✔ работает · ✘ не работает · · не проверялся",
        "✔ істейді · ✘ істемейді · · тексерілмеді",
    ],
    WatchNoRounds => [
        "Waiting for the first round to finish…",
        "Ждём окончания первого раунда…",
        "Бірінші раундтың аяқталуын күтудеміз…",
    ],
    WatchEvents => ["Changes (newest first)", "Изменения (новые сверху)", "Өзгерістер (жаңалары жоғарыда)"],
    WatchNoEvents => ["No changes yet.", "Изменений пока нет.", "Әзірге өзгеріс жоқ."],
    WatchDown => [
        "{time} ▼ {kind} stopped working",
        "{time} ▼ {kind} перестал работать",
        "{time} ▼ {kind} істемей қалды",
    ],
    WatchUp => [
        "{time} ▲ {kind} works again after {duration}",
        "{time} ▲ {kind} снова работает, перерыв {duration}",
        "{time} ▲ {kind} қайта істейді, үзіліс {duration}",
    ],
    WatchAllDown => [
        "{time} ▼▼ everything failed: likely a general shutdown",
        "{time} ▼▼ не работает ничего: вероятно, общее отключение",
        "{time} ▼▼ ештеңе істемейді: жалпы өшіру болуы мүмкін",
    ],
    WatchAllUp => [
        "{time} ▲▲ something works again after {duration}",
        "{time} ▲▲ что-то снова работает, перерыв {duration}",
        "{time} ▲▲ бір нәрсе қайта істейді, үзіліс {duration}",
    ],
    WatchFooter => [
        "q quit (the outage summary is printed on exit)",
        "q выход (сводка перерывов печатается при выходе)",
        "q шығу (үзілістер қорытындысы шыққанда басылады)",
    ],
}

/// How a method is named in sentences ("obfs4 bridges").
pub fn kind_name(lang: Lang, kind: EndpointKind) -> &'static str {
    let names = match kind {
        EndpointKind::Doh => ["DoH", "DoH", "DoH"],
        EndpointKind::Dot => ["DoT", "DoT", "DoT"],
        EndpointKind::Tor => [
            "vanilla Tor bridges",
            "обычные мосты Tor",
            "қарапайым Tor көпірлері",
        ],
        EndpointKind::Obfs4 => ["obfs4 bridges", "мосты obfs4", "obfs4 көпірлері"],
        EndpointKind::Webtunnel => [
            "webtunnel bridges",
            "мосты webtunnel",
            "webtunnel көпірлері",
        ],
        EndpointKind::Snowflake => ["Snowflake", "Snowflake", "Snowflake"],
        EndpointKind::Meek => ["meek", "meek", "meek"],
        EndpointKind::Conjure => ["Conjure", "Conjure", "Conjure"],
        EndpointKind::OtherPt => [
            "other transports",
            "другие транспорты",
            "басқа транспорттар",
        ],
        EndpointKind::Wireguard => ["WireGuard", "WireGuard", "WireGuard"],
        EndpointKind::Amneziawg => ["AmneziaWG", "AmneziaWG", "AmneziaWG"],
        EndpointKind::Openvpn => ["OpenVPN", "OpenVPN", "OpenVPN"],
        EndpointKind::Ikev2 => ["IKEv2 VPN", "IKEv2 VPN", "IKEv2 VPN"],
        EndpointKind::Shadowsocks => ["Shadowsocks", "Shadowsocks", "Shadowsocks"],
        EndpointKind::Vless => ["VLESS links", "ссылки VLESS", "VLESS сілтемелері"],
        EndpointKind::Vmess => ["VMess links", "ссылки VMess", "VMess сілтемелері"],
        EndpointKind::Trojan => ["Trojan links", "ссылки Trojan", "Trojan сілтемелері"],
        EndpointKind::Hysteria2 => ["Hysteria2", "Hysteria2", "Hysteria2"],
        EndpointKind::Tuic => ["TUIC", "TUIC", "TUIC"],
    };
    names[lang.index()]
}

/// A few words per diagnosis; `short` for narrow terminals.
pub fn diagnosis_phrase(lang: Lang, d: Diagnosis, short: bool) -> &'static str {
    let [long, brief] = phrases(d);
    let pick = if short { brief } else { long };
    pick[lang.index()]
}

/// (long, short) phrases per language.
fn phrases(d: Diagnosis) -> [[&'static str; 3]; 2] {
    let same = |p: [&'static str; 3]| [p, p];
    match d {
        Diagnosis::Ok => same(["works", "работает", "істейді"]),
        Diagnosis::PortUnreachable => [
            [
                "port unreachable (ICMP)",
                "порт недоступен (ICMP)",
                "порт қолжетімсіз (ICMP)",
            ],
            ["port closed", "порт закрыт", "порт жабық"],
        ],
        Diagnosis::NoResponse => [
            [
                "no answer to signed request",
                "нет ответа на подписанный запрос",
                "қол қойылған сұрауға жауап жоқ",
            ],
            ["no answer", "нет ответа", "жауап жоқ"],
        ],
        Diagnosis::AuthFailed => [
            [
                "credentials rejected",
                "учётные данные отклонены",
                "тіркелгі деректері қабылданбады",
            ],
            ["auth failed", "ошибка входа", "кіру қатесі"],
        ],
        Diagnosis::NotTestable => [
            [
                "not testable here",
                "здесь не проверить",
                "мұнда тексеру мүмкін емес",
            ],
            ["not testable", "не проверить", "тексерілмейді"],
        ],
        Diagnosis::FrontReachable => [
            [
                "server answers, login unchecked",
                "сервер отвечает, вход не проверен",
                "сервер жауап береді, кіру тексерілмеді",
            ],
            ["front only", "только фронт", "тек фронт"],
        ],
        Diagnosis::Timeout => same(["timeout", "тайм-аут", "таймаут"]),
        Diagnosis::ConnectionReset => [
            ["connection reset", "соединение сброшено", "байланыс үзілді"],
            ["reset", "сброс", "үзілді"],
        ],
        Diagnosis::ConnectionRefused => [
            [
                "connection refused",
                "в соединении отказано",
                "қосылудан бас тартты",
            ],
            ["refused", "отказ", "бас тартты"],
        ],
        Diagnosis::HostUnreachable => [
            ["host unreachable", "хост недоступен", "хост қолжетімсіз"],
            ["unreachable", "недоступен", "қолжетімсіз"],
        ],
        Diagnosis::SniFiltered => [
            [
                "blocked by server name (SNI)",
                "блокировка по имени сервера (SNI)",
                "сервер атауы (SNI) бойынша бұғатталған",
            ],
            ["SNI blocked", "блок по SNI", "SNI бұғаты"],
        ],
        Diagnosis::DnsPoisoned => same(["DNS poisoned", "подмена DNS", "DNS бұрмаланған"]),
        Diagnosis::IpBlocked => same(["IP blocked", "IP заблокирован", "IP бұғатталған"]),
        Diagnosis::CertificateInvalid => [
            [
                "certificate invalid",
                "недействительный сертификат",
                "сертификат жарамсыз",
            ],
            [
                "bad certificate",
                "плохой сертификат",
                "жарамсыз сертификат",
            ],
        ],
        Diagnosis::LyingResolver => same(["lying resolver", "лживый резолвер", "жалған резолвер"]),
        Diagnosis::HttpError => same(["HTTP error", "ошибка HTTP", "HTTP қатесі"]),
        Diagnosis::BadResponse => same(["bad answer", "неверный ответ", "қате жауап"]),
        Diagnosis::ResolveFailed => [
            [
                "name not resolvable",
                "имя не разрешается",
                "атауды шешу мүмкін емес",
            ],
            ["no address", "нет адреса", "мекенжай жоқ"],
        ],
        Diagnosis::TlsFailed => same(["TLS failed", "сбой TLS", "TLS сәтсіз"]),
        Diagnosis::IdentityMismatch => [
            [
                "identity mismatch (wrong line?)",
                "не тот мост (неверная строка?)",
                "көпір басқа (жол қате ме?)",
            ],
            ["wrong identity", "не тот мост", "көпір басқа"],
        ],
        Diagnosis::PtMissing => [
            [
                "transport program not installed",
                "программа транспорта не установлена",
                "транспорт бағдарламасы орнатылмаған",
            ],
            ["no PT program", "нет программы PT", "PT бағдарламасы жоқ"],
        ],
        Diagnosis::PtLaunchFailed => [
            [
                "transport program would not start",
                "программа транспорта не запустилась",
                "транспорт бағдарламасы іске қосылмады",
            ],
            ["PT start failed", "PT не запустился", "PT іске қосылмады"],
        ],
        Diagnosis::PtHandshakeFailed => [
            [
                "transport handshake failed",
                "сбой рукопожатия транспорта",
                "транспорт қол алысуы сәтсіз",
            ],
            ["PT handshake", "сбой PT", "PT қатесі"],
        ],
        Diagnosis::Stalled => [
            [
                "data cut after handshake",
                "данные обрываются после рукопожатия",
                "қол алысудан кейін деректер үзілді",
            ],
            ["stalled", "обрыв данных", "деректер үзілді"],
        ],
        Diagnosis::Slow => same(["slow", "медленно", "баяу"]),
        Diagnosis::ClockSkew => [
            [
                "your clock is wrong",
                "часы компьютера неверны",
                "компьютер сағаты қате",
            ],
            ["clock wrong", "часы неверны", "сағат қате"],
        ],
        Diagnosis::BootstrapFailed => same([
            "bootstrap failed",
            "Tor не запустился",
            "Tor іске қосылмады",
        ]),
    }
}

/// One plain sentence per diagnosis. English is the measurement model's
/// own text, so the CLI and the UI never disagree.
pub fn explain(lang: Lang, d: Diagnosis) -> &'static str {
    let [ru, kk] = explanations(d);
    match lang {
        Lang::En => d.explain(),
        Lang::Ru => ru,
        Lang::Kk => kk,
    }
}

fn explanations(d: Diagnosis) -> [&'static str; 2] {
    match d {
        Diagnosis::Ok => ["Работает из этой сети.", "Осы желіден істейді."],
        Diagnosis::PortUnreachable => [
            "Сеть ответила, что на этом порту никто не слушает (ICMP): сервер выключен или порт фильтруется.",
            "Желі бұл портта ешкім тыңдамайтынын айтты (ICMP): сервер өшірулі немесе порт сүзіледі.",
        ],
        Diagnosis::NoResponse => [
            "На наш подписанный запрос ответа нет: блокировка, неверный ключ или сервер выключен.",
            "Қол қойылған сұрауымызға жауап жоқ: бұғаттау, қате кілт немесе сервер өшірулі.",
        ],
        Diagnosis::AuthFailed => [
            "Сервер отклонил эти учётные данные: конфигурация неверна или устарела.",
            "Сервер бұл тіркелгі деректерін қабылдамады: конфигурация қате немесе ескірген.",
        ],
        Diagnosis::NotTestable => [
            "Этой конфигурации нужен плагин или транспорт, который bridgescout не поддерживает, поэтому она не проверялась.",
            "Бұл конфигурацияға bridgescout қолдамайтын плагин не транспорт керек, сондықтан ол тексерілмеді.",
        ],
        Diagnosis::FrontReachable => [
            "Сервер отвечает, но вход нельзя проверить без настоящего трафика.",
            "Сервер жауап береді, бірақ кіруді нақты трафиксіз тексеру мүмкін емес.",
        ],
        Diagnosis::Timeout => [
            "Ответа не было вовремя, и больше ничего не доступно: возможно, сеть отключена.",
            "Уақытында жауап келмеді, басқа ештеңе де қолжетімсіз: желі өшірілген болуы мүмкін.",
        ],
        Diagnosis::ConnectionReset => [
            "Соединение оборвано сбросом (reset): часто это пакет, подброшенный цензором.",
            "Байланыс reset пакетімен үзілді: көбіне мұны цензор жібереді.",
        ],
        Diagnosis::ConnectionRefused => [
            "В соединении отказано: сервер выключен или за него отвечает файрвол.",
            "Қосылудан бас тартылды: сервер өшірулі немесе оның орнына файрвол жауап береді.",
        ],
        Diagnosis::HostUnreachable => [
            "Сеть сообщила, что хост недоступен (ICMP): маршрут перекрыт или отфильтрован.",
            "Желі хост қолжетімсіз екенін хабарлады (ICMP): бағыт жабылған не сүзілген.",
        ],
        Diagnosis::SniFiltered => [
            "Блокировка по имени сервера: тот же адрес с безобидным именем работает.",
            "Сервер атауы бойынша бұғатталған: сол мекенжай зиянсыз атаумен істейді.",
        ],
        Diagnosis::DnsPoisoned => [
            "DNS вашей сети выдаёт неверный адрес этого сервера; его известный адрес работает.",
            "Желіңіздің DNS-і бұл серверге қате мекенжай береді; белгілі мекенжайы істейді.",
        ],
        Diagnosis::IpBlocked => [
            "Соединения с этим адресом молча отбрасываются, хотя другие узлы отвечают.",
            "Бұл мекенжайға қосылымдар үнсіз тасталады, ал басқа түйіндер жауап береді.",
        ],
        Diagnosis::CertificateInvalid => [
            "Сертификат недействителен для этого сервера: возможен перехват.",
            "Сертификат бұл серверге жарамсыз: трафик ұсталуы мүмкін.",
        ],
        Diagnosis::LyingResolver => [
            "Резолвер выдумывает ответы для несуществующих имён: не доверяйте ему.",
            "Резолвер жоқ атауларға жауап ойлап табады: оған сенбеңіз.",
        ],
        Diagnosis::HttpError => [
            "Сервер ответил ошибкой HTTP.",
            "Сервер HTTP қатесімен жауап берді.",
        ],
        Diagnosis::BadResponse => [
            "Ответ сервера не является корректным ответом DNS.",
            "Сервердің жауабы дұрыс DNS жауабы емес.",
        ],
        Diagnosis::ResolveFailed => [
            "Имя сервера не удалось разрешить, а запасной адрес неизвестен.",
            "Сервер атауын шешу мүмкін болмады, ал қосалқы мекенжай белгісіз.",
        ],
        Diagnosis::TlsFailed => [
            "Не удалось установить зашифрованное соединение с мостом.",
            "Көпірмен шифрланған байланыс орнату мүмкін болмады.",
        ],
        Diagnosis::IdentityMismatch => [
            "Это не тот мост, что указан в строке: строка неверна или соединение перехвачено.",
            "Бұл жолда көрсетілген көпір емес: жол қате немесе байланыс ұсталған.",
        ],
        Diagnosis::PtMissing => [
            "Программа для этого транспорта не установлена, поэтому проверить его нельзя.",
            "Бұл транспорттың бағдарламасы орнатылмаған, сондықтан оны тексеру мүмкін болмады.",
        ],
        Diagnosis::PtLaunchFailed => [
            "Программа для этого транспорта установлена, но не запустилась.",
            "Бұл транспорттың бағдарламасы орнатылған, бірақ іске қосылмады.",
        ],
        Diagnosis::PtHandshakeFailed => [
            "Мост отвечает, но рукопожатие транспорта не удалось: неверная строка или блокировка.",
            "Көпір жауап береді, бірақ транспорттың қол алысуы сәтсіз: жол қате не бұғатталған.",
        ],
        Diagnosis::Stalled => [
            "Соединение установилось, потом данные перестали идти: цензор обрывает потоки после части трафика.",
            "Байланыс орнады, кейін деректер тоқтады: цензор біраз трафиктен кейін ағынды үзеді.",
        ],
        Diagnosis::Slow => [
            "Работает, но данные отсюда идут очень медленно.",
            "Істейді, бірақ деректер мұнда өте баяу жүреді.",
        ],
        Diagnosis::ClockSkew => [
            "Часы этого компьютера идут неверно; исправьте дату и время и попробуйте снова.",
            "Бұл компьютердің сағаты қате; күн мен уақытты түзетіп, қайталап көріңіз.",
        ],
        Diagnosis::BootstrapFailed => [
            "Полноценный клиент Tor не смог запуститься через этот мост.",
            "Толық Tor клиенті бұл көпір арқылы іске қосыла алмады.",
        ],
    }
}

#[cfg(test)]
pub(crate) const ALL_DIAGNOSES: [Diagnosis; 27] = Diagnosis::ALL;

#[cfg(test)]
mod tests {
    use super::*;

    fn placeholders(s: &str) -> Vec<String> {
        let mut out: Vec<String> = s
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_string()))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn every_message_is_translated_with_the_same_placeholders() {
        assert!(Msg::ALL.len() > 50);
        for &msg in Msg::ALL {
            let en = tr(Lang::En, msg);
            for lang in Lang::ALL {
                let text = tr(lang, msg);
                assert!(!text.trim().is_empty(), "{msg:?} empty in {lang:?}");
                assert_eq!(placeholders(text), placeholders(en), "{msg:?} in {lang:?}");
                if lang != Lang::En && en.chars().any(|c| c.is_ascii_alphabetic()) {
                    // A copy of the English text means a forgotten translation.
                    assert_ne!(text, en, "{msg:?} untranslated in {lang:?}");
                }
            }
        }
    }

    #[test]
    fn every_diagnosis_has_phrases_and_explanations() {
        for d in ALL_DIAGNOSES {
            for lang in Lang::ALL {
                for short in [true, false] {
                    assert!(!diagnosis_phrase(lang, d, short).is_empty(), "{d:?}");
                }
                assert!(!explain(lang, d).is_empty(), "{d:?} {lang:?}");
            }
            assert_ne!(explain(Lang::Ru, d), explain(Lang::En, d));
            assert_ne!(explain(Lang::Kk, d), explain(Lang::Ru, d));
        }
    }

    #[test]
    fn language_detection() {
        assert_eq!(Lang::parse("ru_RU.UTF-8"), Some(Lang::Ru));
        assert_eq!(Lang::parse("kk-KZ"), Some(Lang::Kk));
        assert_eq!(Lang::parse("EN"), Some(Lang::En));
        assert_eq!(Lang::parse("C"), None);
        assert_eq!(Lang::parse("kkx"), None);
        // The explicit choice wins; then LC_ALL, LC_MESSAGES, LANG.
        assert_eq!(Lang::detect(Some("kk"), &[Some("ru_RU.UTF-8")]), Lang::Kk);
        assert_eq!(
            Lang::detect(Some("xx"), &[None, Some(""), Some("ru_RU")]),
            Lang::Ru
        );
        assert_eq!(
            Lang::detect(None, &[Some("de_DE.UTF-8"), Some("ru_RU")]),
            Lang::En
        );
        assert_eq!(Lang::detect(None, &[None, None, Some("kk_KZ")]), Lang::Kk);
        assert_eq!(Lang::detect(None, &[]), Lang::En);
    }

    #[test]
    fn fill_replaces_every_placeholder() {
        assert_eq!(
            fill("{a} of {b}, {a}", &[("a", "1"), ("b", "2")]),
            "1 of 2, 1"
        );
        assert_eq!(fill("none", &[("a", "1")]), "none");
    }
}
