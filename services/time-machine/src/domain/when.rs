//! Time zones, calendar days and relative dates.
//!
//! People talk about time in their own time zone: "yesterday" for someone in Los Angeles is a
//! different 24 hours than "yesterday" in Berlin. Everything here takes the user's zone, does the
//! calendar arithmetic on local wall-clock dates, and hands back UTC instants for the store.
//! Pure functions only: `now` is always passed in so results are reproducible and testable.

use chrono::{
    DateTime, Datelike, Days, MappedLocalTime, Months, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeDelta, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;

// ---------------------------------------------------------------------------------------------
// time zones and dates
// ---------------------------------------------------------------------------------------------

/// Parses an IANA time zone name; empty or whitespace means UTC.
pub fn parse_time_zone(name: &str) -> Result<Tz, String> {
    let trimmed_name = name.trim();
    if trimmed_name.is_empty() {
        return Ok(Tz::UTC);
    }
    if let Ok(zone) = trimmed_name.parse::<Tz>() {
        return Ok(zone);
    }
    // people type "europe/berlin" or "utc"; any capitalisation of a real IANA name is accepted
    if let Some(zone) = chrono_tz::TZ_VARIANTS
        .iter()
        .find(|candidate| candidate.name().eq_ignore_ascii_case(trimmed_name))
    {
        return Ok(*zone);
    }
    Err(format!(
        "time_zone: unknown time zone {trimmed_name:?} (use an IANA name such as Europe/Berlin)"
    ))
}

/// Parses a calendar date written strictly as YYYY-MM-DD (surrounding whitespace is ignored);
/// impossible dates such as 2024-02-30 are rejected.
pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    let trimmed_text = text.trim();
    let Some((year, month, day)) = split_iso_date(trimmed_text) else {
        return Err(format!("date: expected YYYY-MM-DD, got {trimmed_text:?}"));
    };
    NaiveDate::from_ymd_opt(year, month, day)
        .ok_or_else(|| format!("date: {trimmed_text:?} is not a real calendar date"))
}

/// Splits "YYYY-MM-DD" into numbers when the text has exactly that shape.
fn split_iso_date(text: &str) -> Option<(i32, u32, u32)> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let digit_positions = [0, 1, 2, 3, 5, 6, 8, 9];
    if !digit_positions
        .iter()
        .all(|&position| bytes[position].is_ascii_digit())
    {
        return None;
    }
    // every byte was checked to be ASCII above, so these slices fall on character boundaries
    let year = text[0..4].parse::<i32>().ok()?;
    let month = text[5..7].parse::<u32>().ok()?;
    let day = text[8..10].parse::<u32>().ok()?;
    Some((year, month, day))
}

/// The UTC instants of [start of `date`, start of the next day) in `zone`.
///
/// A day whose midnight falls into a daylight-saving gap starts at its first existing instant;
/// an ambiguous midnight takes the earlier instant. Never panics, even at the calendar's edges.
pub fn day_bounds(date: NaiveDate, zone: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let start_of_day = start_of_local_day(date, zone);
    let start_of_next_day = match date.succ_opt() {
        Some(next_date) => start_of_local_day(next_date, zone),
        None => DateTime::<Utc>::MAX_UTC,
    };
    (start_of_day, start_of_next_day)
}

/// The calendar date that `instant` falls on in `zone`.
pub fn local_date(instant: DateTime<Utc>, zone: Tz) -> NaiveDate {
    local_wall_clock(instant, zone).date()
}

/// "December 18"
pub fn format_day(instant: DateTime<Utc>, zone: Tz) -> String {
    local_wall_clock(instant, zone).format("%B %-d").to_string()
}

/// "December 18, 2024"
pub fn format_day_with_year(instant: DateTime<Utc>, zone: Tz) -> String {
    local_wall_clock(instant, zone)
        .format("%B %-d, %Y")
        .to_string()
}

/// "December 18 at 2:34 PM"
pub fn format_moment(instant: DateTime<Utc>, zone: Tz) -> String {
    local_wall_clock(instant, zone)
        .format("%B %-d at %-I:%M %p")
        .to_string()
}

/// The wall-clock time in `zone` at `instant`. chrono's own `naive_local` panics when the offset
/// pushes the very first or last representable instant off the calendar; there the UTC wall
/// clock is used instead, which is off by at most the offset and keeps every caller panic-free.
fn local_wall_clock(instant: DateTime<Utc>, zone: Tz) -> NaiveDateTime {
    let utc_wall_clock = instant.naive_utc();
    let offset = zone.offset_from_utc_datetime(&utc_wall_clock).fix();
    utc_wall_clock
        .checked_add_offset(offset)
        .unwrap_or(utc_wall_clock)
}

fn start_of_local_day(date: NaiveDate, zone: Tz) -> DateTime<Utc> {
    resolve_local_datetime(date.and_time(NaiveTime::MIN), zone)
}

/// Turns a local wall-clock time into an instant: ambiguous times take the earlier instant and
/// times skipped by a daylight-saving jump take the first instant that exists after the jump.
fn resolve_local_datetime(local: NaiveDateTime, zone: Tz) -> DateTime<Utc> {
    match zone.from_local_datetime(&local) {
        MappedLocalTime::Single(instant) => instant.with_timezone(&Utc),
        MappedLocalTime::Ambiguous(first, second) => {
            first.with_timezone(&Utc).min(second.with_timezone(&Utc))
        }
        MappedLocalTime::None => first_instant_after_gap(local, zone),
    }
}

/// Longest stretch of wall-clock time searched for the end of a gap. Real gaps are an hour or
/// less, except Pacific/Apia skipping all of 2011-12-30, so two days is plenty.
const LONGEST_GAP_MINUTES: i64 = 48 * 60;

fn first_instant_after_gap(local_in_gap: NaiveDateTime, zone: Tz) -> DateTime<Utc> {
    for minutes_later in 1..=LONGEST_GAP_MINUTES {
        // at most 2880 minutes, far inside TimeDelta's range, so this constructor cannot panic
        let step = TimeDelta::minutes(minutes_later);
        let Some(candidate) = local_in_gap.checked_add_signed(step) else {
            break;
        };
        if zone.from_local_datetime(&candidate).earliest().is_some() {
            return earliest_existing_second_before(candidate, zone);
        }
    }
    // only reached at the very edge of the calendar where the conversion overflows; reading the
    // wall-clock time as UTC keeps the answer finite instead of panicking
    local_in_gap.and_utc()
}

/// Transitions are almost always on whole minutes, but historical offsets (local mean time)
/// have seconds, so the last minute before `first_existing_minute` is searched second by second.
fn earliest_existing_second_before(
    first_existing_minute: NaiveDateTime,
    zone: Tz,
) -> DateTime<Utc> {
    for seconds_before in (1..60).rev() {
        let step = TimeDelta::seconds(seconds_before);
        let Some(candidate) = first_existing_minute.checked_sub_signed(step) else {
            continue;
        };
        if let Some(instant) = zone.from_local_datetime(&candidate).earliest() {
            return instant.with_timezone(&Utc);
        }
    }
    match zone.from_local_datetime(&first_existing_minute).earliest() {
        Some(instant) => instant.with_timezone(&Utc),
        None => first_existing_minute.and_utc(),
    }
}

// ---------------------------------------------------------------------------------------------
// time ranges in free text
// ---------------------------------------------------------------------------------------------

/// A half-open range [from, to) of instants; `None` leaves that side unbounded. `label` is the
/// phrase as understood, e.g. "last week", "yesterday", "since December 1".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeRange {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub label: String,
}

/// Finds one time expression in `text` (the leftmost one) and returns it together with the text
/// that remains once the expression, and the little words that belong to it such as "from" or
/// "since", is cut out. Ranges are computed on calendar days in `zone`.
pub fn extract_time_range(text: &str, now: DateTime<Utc>, zone: Tz) -> (Option<TimeRange>, String) {
    let clock = Clock::new(now, zone);
    let tokens = tokenize_for_time(text);
    let words: Vec<&str> = tokens.iter().map(|token| token.word.as_str()).collect();
    for start_index in 0..tokens.len() {
        let Some(found) = match_expression(&words[start_index..], &clock) else {
            continue;
        };
        let last_index = start_index + found.consumed.max(1) - 1;
        let Some(last_token) = tokens.get(last_index) else {
            continue;
        };
        let remaining = remove_span(text, tokens[start_index].start, last_token.end);
        return (Some(found.range), remaining);
    }
    (None, normalize_whitespace(text))
}

/// The instant a "since ..." comparison starts: an RFC 3339 time as is, a YYYY-MM-DD date as the
/// start of that day in `zone`, otherwise the start of a time expression that is the whole text.
pub fn parse_since(text: &str, now: DateTime<Utc>, zone: Tz) -> Result<DateTime<Utc>, String> {
    let trimmed_text = text.trim();
    if let Ok(instant) = DateTime::parse_from_rfc3339(trimmed_text) {
        return Ok(instant.with_timezone(&Utc));
    }
    if let Ok(date) = parse_date(trimmed_text) {
        return Ok(day_bounds(date, zone).0);
    }
    if let Some(local) = parse_local_date_time(trimmed_text) {
        return Ok(resolve_local_datetime(local, zone));
    }
    let cannot_understand = || {
        format!(
            "since: cannot understand {trimmed_text:?} (try a date such as 2024-12-18, or words such as yesterday or last week)"
        )
    };
    let (range, remaining) = extract_time_range(trimmed_text, now, zone);
    // the whole text must be the expression: "yesterday's budget" is not a moment in time
    if remaining.chars().any(char::is_alphanumeric) {
        return Err(cannot_understand());
    }
    range
        .and_then(|found| found.from)
        .ok_or_else(cannot_understand)
}

/// "2024-12-18T14:30" or "2024-12-18 14:30:00" without an offset: a wall-clock time in the zone.
fn parse_local_date_time(text: &str) -> Option<NaiveDateTime> {
    let formats = [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ];
    formats
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
}

// --- tokens ----------------------------------------------------------------------------------

/// One whitespace-separated chunk of the input, reduced to its letters and digits.
struct TimeToken {
    /// lowercase, curly apostrophes straightened, possessive "'s" dropped ("week's" → "week")
    word: String,
    /// byte offsets of the alphanumeric core in the original text, so cutting leaves punctuation
    start: usize,
    end: usize,
}

fn tokenize_for_time(text: &str) -> Vec<TimeToken> {
    let mut tokens = Vec::new();
    let mut chunk_start: Option<usize> = None;
    for (index, character) in text.char_indices() {
        if !character.is_whitespace() {
            chunk_start.get_or_insert(index);
            continue;
        }
        if let Some(start) = chunk_start.take() {
            push_chunk(text, start, index, &mut tokens);
        }
    }
    if let Some(start) = chunk_start {
        push_chunk(text, start, text.len(), &mut tokens);
    }
    tokens
}

fn push_chunk(text: &str, chunk_start: usize, chunk_end: usize, tokens: &mut Vec<TimeToken>) {
    let chunk = &text[chunk_start..chunk_end];
    let Some((core_start, _)) = chunk.char_indices().find(|(_, c)| c.is_alphanumeric()) else {
        // pure punctuation such as "-" or "—" is skipped so it does not break up a phrase
        return;
    };
    let Some((last_index, last_character)) = chunk
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_alphanumeric())
    else {
        return;
    };
    let core_end = last_index + last_character.len_utf8();
    let core = &chunk[core_start..core_end];
    tokens.push(TimeToken {
        word: normalize_time_word(core),
        start: chunk_start + core_start,
        end: chunk_start + core_end,
    });
}

fn normalize_time_word(core: &str) -> String {
    let lowered = core.to_lowercase().replace('\u{2019}', "'");
    match lowered.strip_suffix("'s") {
        Some(without_possessive) if !without_possessive.is_empty() => {
            without_possessive.to_string()
        }
        _ => lowered,
    }
}

/// Cuts [start, end) out of `text` and tidies the seam so "files from yesterday, please" becomes
/// "files, please" rather than "files , please".
fn remove_span(text: &str, start: usize, end: usize) -> String {
    let before = text.get(..start).unwrap_or("").trim_end();
    let after = text.get(end..).unwrap_or("").trim_start();
    let joined = if before.is_empty() {
        after.trim_start_matches([',', ';', ':']).to_string()
    } else if after.is_empty() {
        before.trim_end_matches([',', ';', ':']).to_string()
    } else if after.starts_with([',', '.', ';', ':', '!', '?', ')']) {
        format!("{before}{after}")
    } else {
        format!("{before} {after}")
    };
    normalize_whitespace(&joined)
}

fn normalize_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn word_at<'a>(words: &[&'a str], index: usize) -> Option<&'a str> {
    words.get(index).copied()
}

// --- the clock: "now" as seen in the user's zone ----------------------------------------------

struct Clock {
    now: DateTime<Utc>,
    zone: Tz,
    local_now: NaiveDateTime,
    today: NaiveDate,
}

impl Clock {
    fn new(now: DateTime<Utc>, zone: Tz) -> Self {
        let local_now = local_wall_clock(now, zone);
        Clock {
            now,
            zone,
            local_now,
            today: local_now.date(),
        }
    }

    fn start_of(&self, date: NaiveDate) -> DateTime<Utc> {
        start_of_local_day(date, self.zone)
    }

    /// [start of `first_day`, start of `end_day`) — whole local days.
    fn days(&self, first_day: NaiveDate, end_day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
        (self.start_of(first_day), self.start_of(end_day))
    }

    fn whole_day(&self, date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
        day_bounds(date, self.zone)
    }

    fn days_before_today(&self, count: u64) -> Option<NaiveDate> {
        self.today.checked_sub_days(Days::new(count))
    }

    /// `hours_after_midnight` may exceed 24 to reach into the next day (night ends at 06:00).
    fn local_hour(&self, date: NaiveDate, hours_after_midnight: u32) -> Option<DateTime<Utc>> {
        let day = date.checked_add_days(Days::new(u64::from(hours_after_midnight / 24)))?;
        let wall_clock = day.and_hms_opt(hours_after_midnight % 24, 0, 0)?;
        Some(resolve_local_datetime(wall_clock, self.zone))
    }
}

fn monday_of_week(date: NaiveDate) -> Option<NaiveDate> {
    date.checked_sub_days(Days::new(u64::from(date.weekday().num_days_from_monday())))
}

fn first_of_month(date: NaiveDate) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(date.year(), date.month(), 1)
}

fn first_of_year(year: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, 1, 1)
}

// --- expressions: a point in time with the words around it ------------------------------------

/// A stretch of time named in the text; unlike a `TimeRange` both ends are always known.
struct Point {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    label: String,
    consumed: usize,
}

impl Point {
    fn new(
        bounds: (DateTime<Utc>, DateTime<Utc>),
        label: impl Into<String>,
        consumed: usize,
    ) -> Self {
        Point {
            from: bounds.0,
            to: bounds.1,
            label: label.into(),
            consumed,
        }
    }
}

struct FoundRange {
    range: TimeRange,
    consumed: usize,
}

impl FoundRange {
    fn new(
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        label: String,
        consumed: usize,
    ) -> Self {
        FoundRange {
            range: TimeRange { from, to, label },
            consumed,
        }
    }
}

/// Words that may stand before a point and are removed with it ("from last week", "on monday").
const LEADING_WORDS: [&str; 6] = ["on", "in", "during", "over", "within", "for"];

/// Words that turn "the last week" into "the seven days up to now" rather than a calendar week.
const ROLLING_PREFIXES: [&str; 5] = ["in", "over", "within", "during", "for"];

fn match_expression(words: &[&str], clock: &Clock) -> Option<FoundRange> {
    let first_word = word_at(words, 0)?;
    let rest = words.get(1..)?;
    match first_word {
        "since" => {
            let point = parse_point(rest, clock, Some(first_word))?;
            let label = format!("since {}", point.label);
            Some(FoundRange::new(
                Some(point.from),
                None,
                label,
                1 + point.consumed,
            ))
        }
        "before" => {
            let point = parse_point(rest, clock, Some(first_word))?;
            let label = format!("before {}", point.label);
            Some(FoundRange::new(
                None,
                Some(point.from),
                label,
                1 + point.consumed,
            ))
        }
        "after" => {
            let point = parse_point(rest, clock, Some(first_word))?;
            let label = format!("after {}", point.label);
            Some(FoundRange::new(
                Some(point.to),
                None,
                label,
                1 + point.consumed,
            ))
        }
        "until" | "till" => {
            // "until friday" includes friday itself
            let point = parse_point(rest, clock, Some(first_word))?;
            let label = format!("until {}", point.label);
            Some(FoundRange::new(
                None,
                Some(point.to),
                label,
                1 + point.consumed,
            ))
        }
        "between" => match_between(rest, clock),
        "from" => match_from(rest, clock),
        _ if LEADING_WORDS.contains(&first_word) => {
            let point = parse_point(rest, clock, Some(first_word))?;
            Some(FoundRange::new(
                Some(point.from),
                Some(point.to),
                point.label,
                1 + point.consumed,
            ))
        }
        _ => {
            let point = parse_point(words, clock, None)?;
            Some(FoundRange::new(
                Some(point.from),
                Some(point.to),
                point.label,
                point.consumed,
            ))
        }
    }
}

/// "between December 1 and December 18" — both ends inclusive, in either order.
fn match_between(words_after_between: &[&str], clock: &Clock) -> Option<FoundRange> {
    let first_point = parse_point(words_after_between, clock, Some("between"))?;
    if word_at(words_after_between, first_point.consumed)? != "and" {
        return None;
    }
    let second_words = words_after_between.get(first_point.consumed + 1..)?;
    let second_point = parse_point(second_words, clock, Some("and"))?;
    let label = format!("between {} and {}", first_point.label, second_point.label);
    let consumed = 1 + first_point.consumed + 1 + second_point.consumed;
    Some(spanning_range(&first_point, &second_point, label, consumed))
}

/// "from last week" is just "last week"; "from monday to wednesday" is a span.
fn match_from(words_after_from: &[&str], clock: &Clock) -> Option<FoundRange> {
    let first_point = parse_point(words_after_from, clock, Some("from"))?;
    let joining_word = word_at(words_after_from, first_point.consumed);
    let joins_a_second_point = matches!(
        joining_word,
        Some("to" | "until" | "till" | "through" | "thru")
    );
    if joins_a_second_point {
        let second_point = words_after_from
            .get(first_point.consumed + 1..)
            .and_then(|second_words| parse_point(second_words, clock, Some("to")));
        if let Some(second_point) = second_point {
            let label = format!("from {} to {}", first_point.label, second_point.label);
            let consumed = 1 + first_point.consumed + 1 + second_point.consumed;
            return Some(spanning_range(&first_point, &second_point, label, consumed));
        }
    }
    let consumed = 1 + first_point.consumed;
    Some(FoundRange::new(
        Some(first_point.from),
        Some(first_point.to),
        first_point.label,
        consumed,
    ))
}

fn spanning_range(first: &Point, second: &Point, label: String, consumed: usize) -> FoundRange {
    let from = first.from.min(second.from);
    let to = first.to.max(second.to);
    FoundRange::new(Some(from), Some(to), label, consumed)
}

/// Tries every kind of point at the start of `words`. `leading_word` is the word before it
/// ("since", "in", ...), which changes how a few phrases read.
fn parse_point(words: &[&str], clock: &Clock, leading_word: Option<&str>) -> Option<Point> {
    let has_leading_word = leading_word.is_some();
    parse_named_day(words, clock)
        .or_else(|| parse_rolling_window(words, clock, leading_word))
        .or_else(|| parse_calendar_period(words, clock))
        .or_else(|| parse_units_ago(words, clock))
        .or_else(|| parse_recently(words, clock))
        .or_else(|| parse_weekday(words, clock))
        .or_else(|| parse_month_and_day(words, clock, leading_word))
        .or_else(|| parse_iso_date(words, clock))
        .or_else(|| parse_bare_year(words, clock, has_leading_word))
}

// --- parts of a day ----------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum PartOfDay {
    Morning,
    Afternoon,
    Evening,
    Night,
}

impl PartOfDay {
    fn from_word(word: &str) -> Option<Self> {
        match word {
            "morning" => Some(PartOfDay::Morning),
            "afternoon" => Some(PartOfDay::Afternoon),
            "evening" => Some(PartOfDay::Evening),
            "night" => Some(PartOfDay::Night),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            PartOfDay::Morning => "morning",
            PartOfDay::Afternoon => "afternoon",
            PartOfDay::Evening => "evening",
            PartOfDay::Night => "night",
        }
    }

    /// Hours after local midnight; night runs on to 06:00 the next morning.
    fn hours(self) -> (u32, u32) {
        match self {
            PartOfDay::Morning => (0, 12),
            PartOfDay::Afternoon => (12, 18),
            PartOfDay::Evening => (18, 24),
            PartOfDay::Night => (18, 30),
        }
    }

    fn bounds(self, clock: &Clock, date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let (start_hour, end_hour) = self.hours();
        Some((
            clock.local_hour(date, start_hour)?,
            clock.local_hour(date, end_hour)?,
        ))
    }
}

/// A single day, optionally narrowed by a following "morning", "afternoon", "evening" or "night".
fn day_point(
    words: &[&str],
    consumed: usize,
    date: NaiveDate,
    label: String,
    clock: &Clock,
) -> Option<Point> {
    let part_of_day = word_at(words, consumed).and_then(PartOfDay::from_word);
    if let Some(part_of_day) = part_of_day {
        let bounds = part_of_day.bounds(clock, date)?;
        return Some(Point::new(
            bounds,
            format!("{label} {}", part_of_day.name()),
            consumed + 1,
        ));
    }
    Some(Point::new(clock.whole_day(date), label, consumed))
}

/// today, yesterday, the day before yesterday, earlier today, this morning, tonight, last night.
fn parse_named_day(words: &[&str], clock: &Clock) -> Option<Point> {
    let first_word = word_at(words, 0)?;
    let second_word = word_at(words, 1);
    let leading_the = usize::from(first_word == "the");
    let is_day_before_yesterday = word_at(words, leading_the) == Some("day")
        && word_at(words, leading_the + 1) == Some("before")
        && word_at(words, leading_the + 2) == Some("yesterday");
    if is_day_before_yesterday {
        let date = clock.days_before_today(2)?;
        return day_point(
            words,
            leading_the + 3,
            date,
            "the day before yesterday".into(),
            clock,
        );
    }
    match (first_word, second_word) {
        ("yesterday", _) => day_point(
            words,
            1,
            clock.days_before_today(1)?,
            "yesterday".into(),
            clock,
        ),
        ("earlier", Some("today")) => Some(Point::new(
            (clock.start_of(clock.today), clock.now),
            "earlier today",
            2,
        )),
        ("today", _) => day_point(words, 1, clock.today, "today".into(), clock),
        ("tonight", _) => {
            let bounds = PartOfDay::Night.bounds(clock, clock.today)?;
            Some(Point::new(bounds, "tonight", 1))
        }
        ("last", Some("night")) => {
            let bounds = PartOfDay::Night.bounds(clock, clock.days_before_today(1)?)?;
            Some(Point::new(bounds, "last night", 2))
        }
        ("this", Some(word)) => {
            let part_of_day = PartOfDay::from_word(word)?;
            let bounds = part_of_day.bounds(clock, clock.today)?;
            Some(Point::new(
                bounds,
                format!("this {}", part_of_day.name()),
                2,
            ))
        }
        _ => None,
    }
}

// --- counted stretches: "3 days ago", "in the last 2 weeks" ------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum TimeUnit {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl TimeUnit {
    fn from_word(word: &str) -> Option<Self> {
        match word {
            "minute" | "minutes" | "min" | "mins" => Some(TimeUnit::Minute),
            "hour" | "hours" | "hr" | "hrs" => Some(TimeUnit::Hour),
            "day" | "days" => Some(TimeUnit::Day),
            "week" | "weeks" | "wk" | "wks" => Some(TimeUnit::Week),
            "month" | "months" => Some(TimeUnit::Month),
            "year" | "years" | "yr" | "yrs" => Some(TimeUnit::Year),
            _ => None,
        }
    }

    fn singular(self) -> &'static str {
        match self {
            TimeUnit::Minute => "minute",
            TimeUnit::Hour => "hour",
            TimeUnit::Day => "day",
            TimeUnit::Week => "week",
            TimeUnit::Month => "month",
            TimeUnit::Year => "year",
        }
    }

    fn name_for(self, count: u64) -> String {
        if count == 1 {
            return self.singular().to_string();
        }
        format!("{}s", self.singular())
    }
}

/// How many of something the text asked for, and how it said it.
struct Quantity {
    count: u64,
    consumed: usize,
    /// "a"/"an": reads back as "a week ago"
    is_article: bool,
    /// "few", "couple of", "several": reads back as written
    vague_wording: Option<&'static str>,
}

/// Larger counts are not time expressions anyone types, and capping keeps arithmetic in range.
const LARGEST_COUNT: u64 = 100_000;

fn parse_count_word(word: &str) -> Option<u64> {
    if !word.is_empty() && word.len() <= 6 && word.bytes().all(|byte| byte.is_ascii_digit()) {
        let count = word.parse::<u64>().ok()?;
        return (1..=LARGEST_COUNT).contains(&count).then_some(count);
    }
    let spelled_numbers = [
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
    ];
    let position = spelled_numbers
        .iter()
        .position(|spelled| *spelled == word)?;
    u64::try_from(position + 1).ok()
}

/// `allow_article` accepts "a"/"an" (for "a week ago"); `allow_vague` accepts "few",
/// "couple of" and "several" (for "the last few days").
fn parse_quantity(words: &[&str], allow_article: bool, allow_vague: bool) -> Option<Quantity> {
    let first_word = word_at(words, 0)?;
    if let Some(count) = parse_count_word(first_word) {
        return Some(Quantity {
            count,
            consumed: 1,
            is_article: false,
            vague_wording: None,
        });
    }
    if allow_vague {
        let after_article = usize::from(first_word == "a");
        match word_at(words, after_article) {
            Some("few") => return Some(vague_quantity(3, after_article + 1, "few")),
            Some("several") if after_article == 0 => {
                return Some(vague_quantity(3, 1, "several"));
            }
            Some("couple") => {
                let has_of = word_at(words, after_article + 1) == Some("of");
                return Some(vague_quantity(
                    2,
                    after_article + 1 + usize::from(has_of),
                    "couple of",
                ));
            }
            _ => {}
        }
    }
    if allow_article && matches!(first_word, "a" | "an") {
        return Some(Quantity {
            count: 1,
            consumed: 1,
            is_article: true,
            vague_wording: None,
        });
    }
    None
}

fn vague_quantity(count: u64, consumed: usize, wording: &'static str) -> Quantity {
    Quantity {
        count,
        consumed,
        is_article: false,
        vague_wording: Some(wording),
    }
}

/// The instant `count` units before now; days and longer are counted on the local calendar so a
/// daylight-saving change inside the window does not shift the start by an hour.
fn instant_before_now(clock: &Clock, unit: TimeUnit, count: u64) -> Option<DateTime<Utc>> {
    let signed_count = i64::try_from(count).ok()?;
    let local_start = match unit {
        TimeUnit::Minute => {
            return clock
                .now
                .checked_sub_signed(TimeDelta::try_minutes(signed_count)?);
        }
        TimeUnit::Hour => {
            return clock
                .now
                .checked_sub_signed(TimeDelta::try_hours(signed_count)?);
        }
        TimeUnit::Day => clock.local_now.checked_sub_days(Days::new(count))?,
        TimeUnit::Week => clock
            .local_now
            .checked_sub_days(Days::new(count.checked_mul(7)?))?,
        TimeUnit::Month => clock
            .local_now
            .checked_sub_months(Months::new(u32::try_from(count).ok()?))?,
        TimeUnit::Year => {
            let months = u32::try_from(count.checked_mul(12)?).ok()?;
            clock.local_now.checked_sub_months(Months::new(months))?
        }
    };
    Some(resolve_local_datetime(local_start, clock.zone))
}

/// "in the last 3 days", "the past few weeks", "past week", "last 24 hours": up to now.
fn parse_rolling_window(
    words: &[&str],
    clock: &Clock,
    leading_word: Option<&str>,
) -> Option<Point> {
    let has_the = word_at(words, 0)? == "the";
    let mut index = usize::from(has_the);
    let direction_word = word_at(words, index)?;
    if !matches!(direction_word, "last" | "past") {
        return None;
    }
    index += 1;
    let quantity = parse_quantity(words.get(index..)?, false, true);
    let quantity_words = quantity.as_ref().map_or(0, |found| found.consumed);
    let unit = TimeUnit::from_word(word_at(words, index + quantity_words)?)?;
    // plain "last week" is the previous calendar week; only "the last week", "past week" or
    // "in the last week" mean the seven days up to now
    let reads_as_window = quantity.is_some()
        || has_the
        || direction_word == "past"
        || leading_word.is_some_and(|word| ROLLING_PREFIXES.contains(&word));
    if !reads_as_window {
        return None;
    }
    let count = quantity.as_ref().map_or(1, |found| found.count);
    let from = instant_before_now(clock, unit, count)?;
    let label = match quantity.as_ref().and_then(|found| found.vague_wording) {
        Some(wording) => format!("in the last {wording} {}", unit.name_for(2)),
        None if count == 1 => format!("in the last {}", unit.singular()),
        None => format!("in the last {count} {}", unit.name_for(count)),
    };
    Some(Point::new(
        (from, clock.now),
        label,
        index + quantity_words + 1,
    ))
}

/// "3 days ago" is that whole day, "2 weeks ago" the Monday-to-Monday week holding the day 14
/// days back, "2 months ago" that calendar month, "a year ago" that calendar year, and
/// "an hour ago" the hour either side of that moment. Vague counts ("a few days ago") cover
/// everything from twice the count back up to the start of the current day, week, month or year.
fn parse_units_ago(words: &[&str], clock: &Clock) -> Option<Point> {
    let quantity = parse_quantity(words, true, true)?;
    let unit = TimeUnit::from_word(word_at(words, quantity.consumed)?)?;
    if word_at(words, quantity.consumed + 1)? != "ago" {
        return None;
    }
    let consumed = quantity.consumed + 2;
    if let Some(wording) = quantity.vague_wording {
        let bounds = vague_units_ago_bounds(clock, unit, quantity.count)?;
        let spoken_amount = match wording {
            "several" => "several",
            "couple of" => "a couple of",
            _ => "a few",
        };
        return Some(Point::new(
            bounds,
            format!("{spoken_amount} {} ago", unit.name_for(2)),
            consumed,
        ));
    }
    let count = quantity.count;
    let bounds = exact_units_ago_bounds(clock, unit, count)?;
    let amount = if quantity.is_article {
        let article = if unit == TimeUnit::Hour { "an" } else { "a" };
        format!("{article} {}", unit.singular())
    } else {
        format!("{count} {}", unit.name_for(count))
    };
    Some(Point::new(bounds, format!("{amount} ago"), consumed))
}

fn exact_units_ago_bounds(
    clock: &Clock,
    unit: TimeUnit,
    count: u64,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let bounds = match unit {
        TimeUnit::Minute | TimeUnit::Hour => {
            let earliest = instant_before_now(clock, unit, count.checked_add(1)?)?;
            let latest =
                instant_before_now(clock, unit, count.saturating_sub(1)).unwrap_or(clock.now);
            (earliest, latest)
        }
        TimeUnit::Day => clock.whole_day(clock.days_before_today(count)?),
        TimeUnit::Week => {
            let monday = monday_of_week(clock.days_before_today(count.checked_mul(7)?)?)?;
            clock.days(monday, monday.checked_add_days(Days::new(7))?)
        }
        TimeUnit::Month => {
            let month_start = months_before_this_month(clock, count)?;
            clock.days(month_start, month_start.checked_add_months(Months::new(1))?)
        }
        TimeUnit::Year => {
            let year = clock.today.year().checked_sub(i32::try_from(count).ok()?)?;
            clock.days(first_of_year(year)?, first_of_year(year.checked_add(1)?)?)
        }
    };
    Some(bounds)
}

fn vague_units_ago_bounds(
    clock: &Clock,
    unit: TimeUnit,
    count: u64,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let reach = count.checked_mul(2)?;
    let bounds = match unit {
        TimeUnit::Minute | TimeUnit::Hour => (instant_before_now(clock, unit, reach)?, clock.now),
        TimeUnit::Day => clock.days(clock.days_before_today(reach)?, clock.today),
        TimeUnit::Week => {
            let this_monday = monday_of_week(clock.today)?;
            clock.days(
                this_monday.checked_sub_days(Days::new(reach.checked_mul(7)?))?,
                this_monday,
            )
        }
        TimeUnit::Month => clock.days(
            months_before_this_month(clock, reach)?,
            first_of_month(clock.today)?,
        ),
        TimeUnit::Year => {
            let first_year = clock.today.year().checked_sub(i32::try_from(reach).ok()?)?;
            clock.days(
                first_of_year(first_year)?,
                first_of_year(clock.today.year())?,
            )
        }
    };
    Some(bounds)
}

fn months_before_this_month(clock: &Clock, count: u64) -> Option<NaiveDate> {
    first_of_month(clock.today)?.checked_sub_months(Months::new(u32::try_from(count).ok()?))
}

/// "recently" and "lately" mean the last seven days.
fn parse_recently(words: &[&str], clock: &Clock) -> Option<Point> {
    if !matches!(word_at(words, 0)?, "recently" | "lately") {
        return None;
    }
    let from = instant_before_now(clock, TimeUnit::Day, 7)?;
    Some(Point::new((from, clock.now), "recently", 1))
}

// --- calendar periods: this week, last month, last weekend ---------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum CalendarPeriod {
    Week,
    Month,
    Year,
    Weekend,
}

/// this/last week, month, year and weekend; weeks start on Monday. "this ..." runs up to now.
fn parse_calendar_period(words: &[&str], clock: &Clock) -> Option<Point> {
    let says_earlier = word_at(words, 0)? == "earlier";
    let mut index = usize::from(says_earlier);
    if word_at(words, index) == Some("the") {
        index += 1;
        // "the weekend" / "over the weekend": the most recent weekend that has begun
        if word_at(words, index) == Some("weekend") && !says_earlier {
            return most_recent_weekend(clock, index + 1);
        }
        if word_at(words, index) != Some("previous") {
            return None;
        }
    }
    let is_current = match word_at(words, index)? {
        "this" | "current" => true,
        "last" | "previous" => false,
        _ => return None,
    };
    if says_earlier && !is_current {
        return None;
    }
    let period = match word_at(words, index + 1)? {
        "week" => CalendarPeriod::Week,
        "month" => CalendarPeriod::Month,
        "year" => CalendarPeriod::Year,
        "weekend" if !says_earlier => CalendarPeriod::Weekend,
        _ => return None,
    };
    let bounds = calendar_period_bounds(clock, period, is_current)?;
    let period_name = match period {
        CalendarPeriod::Week => "week",
        CalendarPeriod::Month => "month",
        CalendarPeriod::Year => "year",
        CalendarPeriod::Weekend => "weekend",
    };
    let label = match (says_earlier, is_current) {
        (true, _) => format!("earlier this {period_name}"),
        (false, true) => format!("this {period_name}"),
        (false, false) => format!("last {period_name}"),
    };
    Some(Point::new(bounds, label, index + 2))
}

fn calendar_period_bounds(
    clock: &Clock,
    period: CalendarPeriod,
    is_current: bool,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let this_monday = monday_of_week(clock.today)?;
    let this_month = first_of_month(clock.today)?;
    let this_year = first_of_year(clock.today.year())?;
    let bounds = match (period, is_current) {
        (CalendarPeriod::Week, true) => (clock.start_of(this_monday), clock.now),
        (CalendarPeriod::Week, false) => {
            clock.days(this_monday.checked_sub_days(Days::new(7))?, this_monday)
        }
        (CalendarPeriod::Month, true) => (clock.start_of(this_month), clock.now),
        (CalendarPeriod::Month, false) => {
            clock.days(this_month.checked_sub_months(Months::new(1))?, this_month)
        }
        (CalendarPeriod::Year, true) => (clock.start_of(this_year), clock.now),
        (CalendarPeriod::Year, false) => clock.days(
            first_of_year(clock.today.year().checked_sub(1)?)?,
            this_year,
        ),
        (CalendarPeriod::Weekend, true) => {
            let saturday = this_monday.checked_add_days(Days::new(5))?;
            clock.days(saturday, saturday.checked_add_days(Days::new(2))?)
        }
        (CalendarPeriod::Weekend, false) => {
            clock.days(this_monday.checked_sub_days(Days::new(2))?, this_monday)
        }
    };
    Some(bounds)
}

fn most_recent_weekend(clock: &Clock, consumed: usize) -> Option<Point> {
    let is_weekend_now = matches!(clock.today.weekday(), Weekday::Sat | Weekday::Sun);
    let bounds = calendar_period_bounds(clock, CalendarPeriod::Weekend, is_weekend_now)?;
    Some(Point::new(bounds, "the weekend", consumed))
}

// --- weekdays ---------------------------------------------------------------------------------

fn weekday_from_word(word: &str) -> Option<Weekday> {
    match word {
        "monday" => Some(Weekday::Mon),
        "tuesday" => Some(Weekday::Tue),
        "wednesday" => Some(Weekday::Wed),
        "thursday" => Some(Weekday::Thu),
        "friday" => Some(Weekday::Fri),
        "saturday" => Some(Weekday::Sat),
        "sunday" => Some(Weekday::Sun),
        _ => None,
    }
}

fn weekday_name(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

/// "monday" / "on monday" / "this monday": the most recent Monday, today included;
/// "last monday": the most recent Monday before today.
fn parse_weekday(words: &[&str], clock: &Clock) -> Option<Point> {
    let (qualifier_words, strictly_before_today) = match word_at(words, 0)? {
        "last" | "past" => (1, true),
        "this" => (1, false),
        _ => (0, false),
    };
    let weekday = weekday_from_word(word_at(words, qualifier_words)?)?;
    let today_index = clock.today.weekday().num_days_from_monday();
    let target_index = weekday.num_days_from_monday();
    let mut days_back = (today_index + 7 - target_index) % 7;
    if days_back == 0 && strictly_before_today {
        days_back = 7;
    }
    let date = clock.days_before_today(u64::from(days_back))?;
    let label = if strictly_before_today {
        format!("last {}", weekday_name(weekday))
    } else {
        weekday_name(weekday).to_string()
    };
    day_point(words, qualifier_words + 1, date, label, clock)
}

// --- calendar dates: "December 18", "18 December 2024", "2024-12-18", "in 2023" ----------------

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The month number and whether the word is also an everyday word or too short to trust on
/// its own: "a message from may" is about a person, while "since may" is about a month.
fn month_from_word(word: &str) -> Option<(u32, bool)> {
    let full_name_index = MONTH_NAMES
        .iter()
        .position(|name| name.eq_ignore_ascii_case(word));
    if let Some(index) = full_name_index {
        let month = u32::try_from(index + 1).ok()?;
        let is_everyday_word = matches!(word, "may" | "march");
        return Some((month, is_everyday_word));
    }
    let month = match word {
        "jan" => 1,
        "feb" => 2,
        "mar" => 3,
        "apr" => 4,
        "jun" => 6,
        "jul" => 7,
        "aug" => 8,
        "sep" | "sept" => 9,
        "oct" => 10,
        "nov" => 11,
        "dec" => 12,
        _ => return None,
    };
    Some((month, true))
}

fn month_name(month: u32) -> &'static str {
    let index = usize::try_from(month.saturating_sub(1)).unwrap_or(0);
    MONTH_NAMES.get(index).copied().unwrap_or("")
}

/// "18", "18th", "1st", "2nd", "3rd" → 1..=31
fn day_of_month_from_word(word: &str) -> Option<u32> {
    let digits = ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|suffix| word.strip_suffix(suffix))
        .unwrap_or(word);
    if digits.is_empty() || digits.len() > 2 || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let day = digits.parse::<u32>().ok()?;
    (1..=31).contains(&day).then_some(day)
}

/// Four digits read as a year; the range keeps counts like "from 5000 rows" from being years.
fn year_from_word(word: &str) -> Option<i32> {
    if word.len() != 4 || !word.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let year = word.parse::<i32>().ok()?;
    (1900..=2100).contains(&year).then_some(year)
}

/// A month name alone needs a leading word ("in june", "since december"), because "what did
/// June say" names a person; "may", "march" and abbreviations also refuse the loose "from".
fn month_alone_is_meant(leading_word: Option<&str>, is_everyday_word: bool) -> bool {
    match leading_word {
        None => false,
        Some("from" | "on" | "for") => !is_everyday_word,
        Some(_) => true,
    }
}

fn parse_month_and_day(words: &[&str], clock: &Clock, leading_word: Option<&str>) -> Option<Point> {
    let first_word = word_at(words, 0)?;
    if let Some((month, is_everyday_word)) = month_from_word(first_word) {
        if let Some(day) = word_at(words, 1).and_then(day_of_month_from_word) {
            let year = word_at(words, 2).and_then(year_from_word);
            let consumed = 2 + usize::from(year.is_some());
            return dated_point(clock, month, day, year, consumed);
        }
        if let Some(year) = word_at(words, 1).and_then(year_from_word) {
            return month_point(clock, month, Some(year), 2);
        }
        if month_alone_is_meant(leading_word, is_everyday_word) {
            return month_point(clock, month, None, 1);
        }
        return None;
    }
    // [the] 18th [of] December [2024]
    let mut index = usize::from(first_word == "the");
    let day = day_of_month_from_word(word_at(words, index)?)?;
    index += 1;
    if word_at(words, index) == Some("of") {
        index += 1;
    }
    let (month, _) = month_from_word(word_at(words, index)?)?;
    index += 1;
    let year = word_at(words, index).and_then(year_from_word);
    index += usize::from(year.is_some());
    dated_point(clock, month, day, year, index)
}

/// A month and day without a year means the most recent such date that is not in the future
/// (on December 23, "December 28" is last year's); February 29 looks back to a leap year.
fn dated_point(
    clock: &Clock,
    month: u32,
    day: u32,
    year: Option<i32>,
    consumed: usize,
) -> Option<Point> {
    let date = match year {
        Some(explicit_year) => NaiveDate::from_ymd_opt(explicit_year, month, day)?,
        None => most_recent_month_day(clock.today, month, day)?,
    };
    let shows_year = year.is_some() || date.year() != clock.today.year();
    let label = if shows_year {
        format!("{} {day}, {}", month_name(month), date.year())
    } else {
        format!("{} {day}", month_name(month))
    };
    Some(Point::new(clock.whole_day(date), label, consumed))
}

fn most_recent_month_day(today: NaiveDate, month: u32, day: u32) -> Option<NaiveDate> {
    // eight years always contain a February 29 (1900 and 2100 are the exceptions that need it)
    (0..=8)
        .filter_map(|years_back| today.year().checked_sub(years_back))
        .filter_map(|year| NaiveDate::from_ymd_opt(year, month, day))
        .find(|candidate| *candidate <= today)
}

/// A whole month; without a year the most recent one that has begun.
fn month_point(clock: &Clock, month: u32, year: Option<i32>, consumed: usize) -> Option<Point> {
    let resolved_year = match year {
        Some(explicit_year) => explicit_year,
        None if month <= clock.today.month() => clock.today.year(),
        None => clock.today.year().checked_sub(1)?,
    };
    let month_start = NaiveDate::from_ymd_opt(resolved_year, month, 1)?;
    let next_month_start = month_start.checked_add_months(Months::new(1))?;
    let shows_year = year.is_some() || resolved_year != clock.today.year();
    let label = if shows_year {
        format!("{} {resolved_year}", month_name(month))
    } else {
        month_name(month).to_string()
    };
    Some(Point::new(
        clock.days(month_start, next_month_start),
        label,
        consumed,
    ))
}

fn parse_iso_date(words: &[&str], clock: &Clock) -> Option<Point> {
    let word = word_at(words, 0)?;
    let date = parse_date(word).ok()?;
    Some(Point::new(clock.whole_day(date), word, 1))
}

/// "in 2023", "since 2020": a bare year needs a leading word, or "budget 2024" would be a date.
fn parse_bare_year(words: &[&str], clock: &Clock, has_leading_word: bool) -> Option<Point> {
    if !has_leading_word {
        return None;
    }
    let year = year_from_word(word_at(words, 0)?)?;
    let bounds = clock.days(first_of_year(year)?, first_of_year(year.checked_add(1)?)?);
    Some(Point::new(bounds, year.to_string(), 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Monday, December 23, 2024, 15:00 UTC
    fn monday_afternoon() -> DateTime<Utc> {
        instant("2024-12-23T15:00:00Z")
    }

    fn instant(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("test instant")
            .with_timezone(&Utc)
    }

    fn date(text: &str) -> NaiveDate {
        parse_date(text).expect("test date")
    }

    fn zone(name: &str) -> Tz {
        parse_time_zone(name).expect("test zone")
    }

    fn range_in(text: &str, now: DateTime<Utc>, zone: Tz) -> (TimeRange, String) {
        let (range, remaining) = extract_time_range(text, now, zone);
        let range = range.unwrap_or_else(|| panic!("no time range found in {text:?}"));
        (range, remaining)
    }

    /// Checks range, label and remaining text for a phrase read at `monday_afternoon` in UTC.
    fn assert_utc_phrase(
        text: &str,
        from: Option<&str>,
        to: Option<&str>,
        label: &str,
        remaining: &str,
    ) {
        let (range, rest) = range_in(text, monday_afternoon(), Tz::UTC);
        assert_eq!(range.from, from.map(instant), "from of {text:?}");
        assert_eq!(range.to, to.map(instant), "to of {text:?}");
        assert_eq!(range.label, label, "label of {text:?}");
        assert_eq!(rest, remaining, "remaining text of {text:?}");
    }

    fn assert_whole_utc_phrase(text: &str, from: &str, to: &str, label: &str) {
        assert_utc_phrase(text, Some(from), Some(to), label, "");
    }

    // --- time zones and dates ---

    #[test]
    fn parse_time_zone_accepts_iana_names_and_blank() {
        assert_eq!(parse_time_zone(""), Ok(Tz::UTC));
        assert_eq!(parse_time_zone("   "), Ok(Tz::UTC));
        assert_eq!(parse_time_zone("UTC"), Ok(Tz::UTC));
        assert_eq!(parse_time_zone("Europe/Berlin"), Ok(Tz::Europe__Berlin));
        assert_eq!(
            parse_time_zone(" America/New_York "),
            Ok(Tz::America__New_York)
        );
        assert_eq!(parse_time_zone("europe/berlin"), Ok(Tz::Europe__Berlin));
    }

    #[test]
    fn parse_time_zone_names_the_unknown_input() {
        assert_eq!(
            parse_time_zone("Mars/Olympus"),
            Err("time_zone: unknown time zone \"Mars/Olympus\" (use an IANA name such as Europe/Berlin)".to_string())
        );
        assert!(parse_time_zone("Berlin").is_err());
        assert!(parse_time_zone("+02:00").is_err());
    }

    #[test]
    fn parse_date_accepts_only_real_iso_dates() {
        assert_eq!(
            parse_date("2024-12-18"),
            Ok(NaiveDate::from_ymd_opt(2024, 12, 18).expect("valid"))
        );
        assert_eq!(
            parse_date("2024-02-29"),
            Ok(NaiveDate::from_ymd_opt(2024, 2, 29).expect("valid"))
        );
        assert_eq!(
            parse_date("2024-02-30"),
            Err("date: \"2024-02-30\" is not a real calendar date".to_string())
        );
        assert_eq!(
            parse_date("24-1-1"),
            Err("date: expected YYYY-MM-DD, got \"24-1-1\"".to_string())
        );
        assert!(parse_date("2024-1-01").is_err());
        assert!(parse_date("2023-02-29").is_err());
        assert!(parse_date("2024-13-01").is_err());
        assert!(parse_date("2024/12/18").is_err());
        assert!(parse_date("").is_err());
        assert!(parse_date("２０２４-12-18").is_err());
    }

    #[test]
    fn day_bounds_in_berlin_summer_and_winter() {
        let berlin = zone("Europe/Berlin");
        assert_eq!(
            day_bounds(date("2024-07-01"), berlin),
            (
                instant("2024-06-30T22:00:00Z"),
                instant("2024-07-01T22:00:00Z")
            )
        );
        assert_eq!(
            day_bounds(date("2024-12-18"), berlin),
            (
                instant("2024-12-17T23:00:00Z"),
                instant("2024-12-18T23:00:00Z")
            )
        );
        // the spring-forward day is only 23 hours long
        assert_eq!(
            day_bounds(date("2024-03-31"), berlin),
            (
                instant("2024-03-30T23:00:00Z"),
                instant("2024-03-31T22:00:00Z")
            )
        );
    }

    #[test]
    fn day_bounds_in_utc() {
        assert_eq!(
            day_bounds(date("2024-12-18"), Tz::UTC),
            (
                instant("2024-12-18T00:00:00Z"),
                instant("2024-12-19T00:00:00Z")
            )
        );
        assert_eq!(
            day_bounds(date("2024-12-31"), Tz::UTC),
            (
                instant("2024-12-31T00:00:00Z"),
                instant("2025-01-01T00:00:00Z")
            )
        );
    }

    #[test]
    fn day_bounds_when_midnight_does_not_exist() {
        // Sao Paulo jumped from 00:00 to 01:00 (-02:00) on 2018-11-04
        assert_eq!(
            day_bounds(date("2018-11-04"), zone("America/Sao_Paulo")),
            (
                instant("2018-11-04T03:00:00Z"),
                instant("2018-11-05T02:00:00Z")
            )
        );
        // the day before ends where the short day starts
        assert_eq!(
            day_bounds(date("2018-11-03"), zone("America/Sao_Paulo")).1,
            instant("2018-11-04T03:00:00Z")
        );
        // Beirut springs forward at midnight: 00:00 +02:00 becomes 01:00 +03:00
        assert_eq!(
            day_bounds(date("2024-03-31"), zone("Asia/Beirut")).0,
            instant("2024-03-30T22:00:00Z")
        );
    }

    #[test]
    fn day_bounds_with_ambiguous_midnight_takes_the_earlier_instant() {
        // Havana falls back from 01:00 -04:00 to 00:00 -05:00, so midnight happens twice
        assert_eq!(
            day_bounds(date("2024-11-03"), zone("America/Havana")).0,
            instant("2024-11-03T04:00:00Z")
        );
    }

    #[test]
    fn day_bounds_for_a_skipped_day_is_empty() {
        // Samoa skipped December 30, 2011 entirely
        let (start, end) = day_bounds(date("2011-12-30"), zone("Pacific/Apia"));
        assert_eq!(start, end);
        assert_eq!(start, instant("2011-12-30T10:00:00Z"));
    }

    #[test]
    fn day_bounds_and_formatting_never_panic_at_the_calendar_edges() {
        for zone_name in [
            "UTC",
            "Pacific/Kiritimati",
            "Pacific/Pago_Pago",
            "America/Sao_Paulo",
        ] {
            let zone = zone(zone_name);
            for edge in [NaiveDate::MIN, NaiveDate::MAX] {
                let (start, end) = day_bounds(edge, zone);
                assert!(start <= end, "{zone_name} {edge}");
            }
            for edge in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
                let _ = local_date(edge, zone);
                let _ = format_moment(edge, zone);
                let _ = extract_time_range("last year since monday 3 months ago", edge, zone);
                let _ = parse_since("yesterday", edge, zone);
            }
        }
    }

    #[test]
    fn local_date_and_formatting_use_the_zone() {
        let moment = instant("2024-12-18T22:34:00Z");
        assert_eq!(local_date(moment, Tz::UTC), date("2024-12-18"));
        assert_eq!(local_date(moment, zone("Asia/Tokyo")), date("2024-12-19"));
        assert_eq!(format_day(moment, Tz::UTC), "December 18");
        assert_eq!(format_day(moment, zone("Asia/Tokyo")), "December 19");
        assert_eq!(format_day_with_year(moment, Tz::UTC), "December 18, 2024");
        assert_eq!(format_moment(moment, Tz::UTC), "December 18 at 10:34 PM");
        assert_eq!(
            format_moment(instant("2024-12-18T14:34:00Z"), Tz::UTC),
            "December 18 at 2:34 PM"
        );
        assert_eq!(
            format_moment(instant("2024-03-05T09:05:00Z"), zone("Europe/Berlin")),
            "March 5 at 10:05 AM"
        );
    }

    // --- whole days ---

    #[test]
    fn today_yesterday_and_the_day_before() {
        assert_whole_utc_phrase(
            "today",
            "2024-12-23T00:00:00Z",
            "2024-12-24T00:00:00Z",
            "today",
        );
        assert_whole_utc_phrase(
            "Yesterday",
            "2024-12-22T00:00:00Z",
            "2024-12-23T00:00:00Z",
            "yesterday",
        );
        assert_whole_utc_phrase(
            "the day before yesterday",
            "2024-12-21T00:00:00Z",
            "2024-12-22T00:00:00Z",
            "the day before yesterday",
        );
        assert_utc_phrase(
            "notes from the day before yesterday please",
            Some("2024-12-21T00:00:00Z"),
            Some("2024-12-22T00:00:00Z"),
            "the day before yesterday",
            "notes please",
        );
    }

    #[test]
    fn yesterday_is_local_to_the_user() {
        let los_angeles = zone("America/Los_Angeles");
        // 03:00 UTC on the 23rd is still the evening of the 22nd in Los Angeles
        let (range, _) = range_in("yesterday", instant("2024-12-23T03:00:00Z"), los_angeles);
        assert_eq!(range.from, Some(instant("2024-12-21T08:00:00Z")));
        assert_eq!(range.to, Some(instant("2024-12-22T08:00:00Z")));
        let (range, _) = range_in("yesterday", monday_afternoon(), zone("Europe/Berlin"));
        assert_eq!(range.from, Some(instant("2024-12-21T23:00:00Z")));
        assert_eq!(range.to, Some(instant("2024-12-22T23:00:00Z")));
    }

    #[test]
    fn parts_of_today() {
        let now = "2024-12-23T15:00:00Z";
        assert_utc_phrase(
            "earlier today",
            Some("2024-12-23T00:00:00Z"),
            Some(now),
            "earlier today",
            "",
        );
        assert_whole_utc_phrase(
            "this morning",
            "2024-12-23T00:00:00Z",
            "2024-12-23T12:00:00Z",
            "this morning",
        );
        assert_whole_utc_phrase(
            "this afternoon",
            "2024-12-23T12:00:00Z",
            "2024-12-23T18:00:00Z",
            "this afternoon",
        );
        assert_whole_utc_phrase(
            "this evening",
            "2024-12-23T18:00:00Z",
            "2024-12-24T00:00:00Z",
            "this evening",
        );
        assert_whole_utc_phrase(
            "tonight",
            "2024-12-23T18:00:00Z",
            "2024-12-24T06:00:00Z",
            "tonight",
        );
        assert_whole_utc_phrase(
            "last night",
            "2024-12-22T18:00:00Z",
            "2024-12-23T06:00:00Z",
            "last night",
        );
        assert_whole_utc_phrase(
            "yesterday morning",
            "2024-12-22T00:00:00Z",
            "2024-12-22T12:00:00Z",
            "yesterday morning",
        );
        // this morning in Berlin is 00:00-12:00 CET
        let (range, _) = range_in("this morning", monday_afternoon(), zone("Europe/Berlin"));
        assert_eq!(range.from, Some(instant("2024-12-22T23:00:00Z")));
        assert_eq!(range.to, Some(instant("2024-12-23T11:00:00Z")));
    }

    // --- calendar periods ---

    #[test]
    fn weeks_start_on_monday() {
        let now = "2024-12-23T15:00:00Z";
        assert_utc_phrase(
            "this week",
            Some("2024-12-23T00:00:00Z"),
            Some(now),
            "this week",
            "",
        );
        assert_whole_utc_phrase(
            "last week",
            "2024-12-16T00:00:00Z",
            "2024-12-23T00:00:00Z",
            "last week",
        );
        assert_whole_utc_phrase(
            "the previous week",
            "2024-12-16T00:00:00Z",
            "2024-12-23T00:00:00Z",
            "last week",
        );
        // on a Sunday this week still began on the Monday before
        let sunday = instant("2024-12-22T12:00:00Z");
        let (range, _) = range_in("this week", sunday, Tz::UTC);
        assert_eq!(range.from, Some(instant("2024-12-16T00:00:00Z")));
        let (range, _) = range_in("last week", sunday, Tz::UTC);
        assert_eq!(range.from, Some(instant("2024-12-09T00:00:00Z")));
        assert_eq!(range.to, Some(instant("2024-12-16T00:00:00Z")));
    }

    #[test]
    fn last_week_in_new_york() {
        let (range, _) = range_in("last week", monday_afternoon(), zone("America/New_York"));
        assert_eq!(range.from, Some(instant("2024-12-16T05:00:00Z")));
        assert_eq!(range.to, Some(instant("2024-12-23T05:00:00Z")));
    }

    #[test]
    fn months_and_years() {
        let now = "2024-12-23T15:00:00Z";
        assert_utc_phrase(
            "this month",
            Some("2024-12-01T00:00:00Z"),
            Some(now),
            "this month",
            "",
        );
        assert_whole_utc_phrase(
            "last month",
            "2024-11-01T00:00:00Z",
            "2024-12-01T00:00:00Z",
            "last month",
        );
        assert_utc_phrase(
            "this year",
            Some("2024-01-01T00:00:00Z"),
            Some(now),
            "this year",
            "",
        );
        assert_whole_utc_phrase(
            "last year",
            "2023-01-01T00:00:00Z",
            "2024-01-01T00:00:00Z",
            "last year",
        );
        // last month from January is the previous December
        let (range, _) = range_in("last month", instant("2025-01-10T10:00:00Z"), Tz::UTC);
        assert_eq!(range.from, Some(instant("2024-12-01T00:00:00Z")));
        assert_eq!(range.to, Some(instant("2025-01-01T00:00:00Z")));
    }

    #[test]
    fn weekends() {
        assert_whole_utc_phrase(
            "last weekend",
            "2024-12-21T00:00:00Z",
            "2024-12-23T00:00:00Z",
            "last weekend",
        );
        assert_utc_phrase(
            "what happened over the weekend",
            Some("2024-12-21T00:00:00Z"),
            Some("2024-12-23T00:00:00Z"),
            "the weekend",
            "what happened",
        );
    }

    // --- counted stretches ---

    #[test]
    fn units_ago() {
        assert_whole_utc_phrase(
            "3 days ago",
            "2024-12-20T00:00:00Z",
            "2024-12-21T00:00:00Z",
            "3 days ago",
        );
        assert_whole_utc_phrase(
            "three days ago",
            "2024-12-20T00:00:00Z",
            "2024-12-21T00:00:00Z",
            "3 days ago",
        );
        assert_whole_utc_phrase(
            "a day ago",
            "2024-12-22T00:00:00Z",
            "2024-12-23T00:00:00Z",
            "a day ago",
        );
        // "a week ago" is the Monday-to-Monday week that held the day seven days back
        assert_whole_utc_phrase(
            "a week ago",
            "2024-12-16T00:00:00Z",
            "2024-12-23T00:00:00Z",
            "a week ago",
        );
        assert_whole_utc_phrase(
            "two weeks ago",
            "2024-12-09T00:00:00Z",
            "2024-12-16T00:00:00Z",
            "2 weeks ago",
        );
        assert_whole_utc_phrase(
            "2 months ago",
            "2024-10-01T00:00:00Z",
            "2024-11-01T00:00:00Z",
            "2 months ago",
        );
        assert_whole_utc_phrase(
            "twelve months ago",
            "2023-12-01T00:00:00Z",
            "2024-01-01T00:00:00Z",
            "12 months ago",
        );
        assert_whole_utc_phrase(
            "a year ago",
            "2023-01-01T00:00:00Z",
            "2024-01-01T00:00:00Z",
            "a year ago",
        );
        assert_whole_utc_phrase(
            "an hour ago",
            "2024-12-23T13:00:00Z",
            "2024-12-23T15:00:00Z",
            "an hour ago",
        );
        // vague counts reach back twice as far and stop at the start of the current unit
        assert_whole_utc_phrase(
            "a few days ago",
            "2024-12-17T00:00:00Z",
            "2024-12-23T00:00:00Z",
            "a few days ago",
        );
        assert_whole_utc_phrase(
            "a couple of weeks ago",
            "2024-11-25T00:00:00Z",
            "2024-12-23T00:00:00Z",
            "a couple of weeks ago",
        );
        assert_whole_utc_phrase(
            "few months ago",
            "2024-06-01T00:00:00Z",
            "2024-12-01T00:00:00Z",
            "a few months ago",
        );
        assert_utc_phrase(
            "the notes from 10 days ago",
            Some("2024-12-13T00:00:00Z"),
            Some("2024-12-14T00:00:00Z"),
            "10 days ago",
            "the notes",
        );
    }

    #[test]
    fn rolling_windows_up_to_now() {
        let now = "2024-12-23T15:00:00Z";
        assert_utc_phrase(
            "in the last 3 days",
            Some("2024-12-20T15:00:00Z"),
            Some(now),
            "in the last 3 days",
            "",
        );
        assert_utc_phrase(
            "in the past two weeks",
            Some("2024-12-09T15:00:00Z"),
            Some(now),
            "in the last 2 weeks",
            "",
        );
        assert_utc_phrase(
            "in the last 2 months",
            Some("2024-10-23T15:00:00Z"),
            Some(now),
            "in the last 2 months",
            "",
        );
        assert_utc_phrase(
            "last 24 hours",
            Some("2024-12-22T15:00:00Z"),
            Some(now),
            "in the last 24 hours",
            "",
        );
        assert_utc_phrase(
            "the past week",
            Some("2024-12-16T15:00:00Z"),
            Some(now),
            "in the last week",
            "",
        );
        assert_utc_phrase(
            "in the last week",
            Some("2024-12-16T15:00:00Z"),
            Some(now),
            "in the last week",
            "",
        );
        assert_utc_phrase(
            "the last few days",
            Some("2024-12-20T15:00:00Z"),
            Some(now),
            "in the last few days",
            "",
        );
        assert_utc_phrase(
            "the past few days",
            Some("2024-12-20T15:00:00Z"),
            Some(now),
            "in the last few days",
            "",
        );
        assert_utc_phrase(
            "over the last couple of weeks",
            Some("2024-12-09T15:00:00Z"),
            Some(now),
            "in the last couple of weeks",
            "",
        );
        assert_utc_phrase(
            "recently",
            Some("2024-12-16T15:00:00Z"),
            Some(now),
            "recently",
            "",
        );
        assert_utc_phrase(
            "files I uploaded lately",
            Some("2024-12-16T15:00:00Z"),
            Some(now),
            "recently",
            "files I uploaded",
        );
    }

    #[test]
    fn rolling_days_follow_the_local_calendar_across_daylight_saving() {
        // Berlin sprang forward on 2024-03-31: three calendar days back is only 71 hours
        let now = instant("2024-03-31T12:00:00Z");
        let (range, _) = range_in("in the last 3 days", now, zone("Europe/Berlin"));
        assert_eq!(range.from, Some(instant("2024-03-28T13:00:00Z")));
        assert_eq!(range.to, Some(now));
    }

    // --- weekdays ---

    #[test]
    fn weekdays_on_a_monday() {
        // today is Monday: "on monday" is today, "last monday" the week before
        assert_whole_utc_phrase(
            "on monday",
            "2024-12-23T00:00:00Z",
            "2024-12-24T00:00:00Z",
            "Monday",
        );
        assert_whole_utc_phrase(
            "monday",
            "2024-12-23T00:00:00Z",
            "2024-12-24T00:00:00Z",
            "Monday",
        );
        assert_whole_utc_phrase(
            "last Monday",
            "2024-12-16T00:00:00Z",
            "2024-12-17T00:00:00Z",
            "last Monday",
        );
        assert_whole_utc_phrase(
            "friday",
            "2024-12-20T00:00:00Z",
            "2024-12-21T00:00:00Z",
            "Friday",
        );
        assert_whole_utc_phrase(
            "on Wednesday",
            "2024-12-18T00:00:00Z",
            "2024-12-19T00:00:00Z",
            "Wednesday",
        );
        assert_whole_utc_phrase(
            "last tuesday",
            "2024-12-17T00:00:00Z",
            "2024-12-18T00:00:00Z",
            "last Tuesday",
        );
        assert_whole_utc_phrase(
            "sunday",
            "2024-12-22T00:00:00Z",
            "2024-12-23T00:00:00Z",
            "Sunday",
        );
        assert_whole_utc_phrase(
            "friday afternoon",
            "2024-12-20T12:00:00Z",
            "2024-12-20T18:00:00Z",
            "Friday afternoon",
        );
    }

    #[test]
    fn weekdays_in_the_middle_of_the_week() {
        let thursday = instant("2024-12-19T09:00:00Z");
        let (range, _) = range_in("on monday", thursday, Tz::UTC);
        assert_eq!(range.from, Some(instant("2024-12-16T00:00:00Z")));
        let (range, _) = range_in("last thursday", thursday, Tz::UTC);
        assert_eq!(range.from, Some(instant("2024-12-12T00:00:00Z")));
        let (range, _) = range_in("on thursday", thursday, Tz::UTC);
        assert_eq!(range.from, Some(instant("2024-12-19T00:00:00Z")));
    }

    // --- calendar dates ---

    #[test]
    fn month_and_day_without_a_year_is_never_in_the_future() {
        assert_whole_utc_phrase(
            "December 18",
            "2024-12-18T00:00:00Z",
            "2024-12-19T00:00:00Z",
            "December 18",
        );
        assert_whole_utc_phrase(
            "on December 18",
            "2024-12-18T00:00:00Z",
            "2024-12-19T00:00:00Z",
            "December 18",
        );
        assert_whole_utc_phrase(
            "dec 18",
            "2024-12-18T00:00:00Z",
            "2024-12-19T00:00:00Z",
            "December 18",
        );
        assert_whole_utc_phrase(
            "Dec. 18th",
            "2024-12-18T00:00:00Z",
            "2024-12-19T00:00:00Z",
            "December 18",
        );
        assert_whole_utc_phrase(
            "December 28",
            "2023-12-28T00:00:00Z",
            "2023-12-29T00:00:00Z",
            "December 28, 2023",
        );
        assert_whole_utc_phrase(
            "the 3rd of march",
            "2024-03-03T00:00:00Z",
            "2024-03-04T00:00:00Z",
            "March 3",
        );
        // February 29 looks back to the last leap year
        let (range, _) = range_in("feb 29", instant("2025-06-01T00:00:00Z"), Tz::UTC);
        assert_eq!(range.from, Some(instant("2024-02-29T00:00:00Z")));
    }

    #[test]
    fn month_and_day_with_a_year() {
        let december_18 = ("2024-12-18T00:00:00Z", "2024-12-19T00:00:00Z");
        assert_whole_utc_phrase(
            "December 18, 2024",
            december_18.0,
            december_18.1,
            "December 18, 2024",
        );
        assert_whole_utc_phrase(
            "18 December 2024",
            december_18.0,
            december_18.1,
            "December 18, 2024",
        );
        assert_whole_utc_phrase("18 dec", december_18.0, december_18.1, "December 18");
        assert_whole_utc_phrase(
            "december 25 2023",
            "2023-12-25T00:00:00Z",
            "2023-12-26T00:00:00Z",
            "December 25, 2023",
        );
        assert_utc_phrase(
            "the invoice from December 18, 2024, the blue one",
            Some(december_18.0),
            Some(december_18.1),
            "December 18, 2024",
            "the invoice, the blue one",
        );
        // impossible dates are not time expressions
        assert_eq!(
            extract_time_range("february 30", monday_afternoon(), Tz::UTC).0,
            None
        );
    }

    #[test]
    fn month_names_alone() {
        assert_whole_utc_phrase(
            "in november",
            "2024-11-01T00:00:00Z",
            "2024-12-01T00:00:00Z",
            "November",
        );
        assert_whole_utc_phrase(
            "in may",
            "2024-05-01T00:00:00Z",
            "2024-06-01T00:00:00Z",
            "May",
        );
        assert_whole_utc_phrase(
            "december 2023",
            "2023-12-01T00:00:00Z",
            "2024-01-01T00:00:00Z",
            "December 2023",
        );
        // a month still to come this year means last year's
        let (range, _) = range_in("in august", instant("2024-03-01T00:00:00Z"), Tz::UTC);
        assert_eq!(range.from, Some(instant("2023-08-01T00:00:00Z")));
        assert_eq!(range.label, "August 2023");
        // a month name alone needs a leading word: "june" may be a person, "may" a verb
        assert_eq!(
            extract_time_range("what did June say", monday_afternoon(), Tz::UTC).0,
            None
        );
        assert_eq!(
            extract_time_range("I may have sent it", monday_afternoon(), Tz::UTC).0,
            None
        );
        assert_eq!(
            extract_time_range("the march plan", monday_afternoon(), Tz::UTC).0,
            None
        );
        assert_eq!(
            extract_time_range("a note from may", monday_afternoon(), Tz::UTC).0,
            None
        );
        assert_utc_phrase(
            "since may",
            Some("2024-05-01T00:00:00Z"),
            None,
            "since May",
            "",
        );
        assert_whole_utc_phrase(
            "during june",
            "2024-06-01T00:00:00Z",
            "2024-07-01T00:00:00Z",
            "June",
        );
    }

    #[test]
    fn iso_dates_and_years() {
        assert_whole_utc_phrase(
            "2024-12-18",
            "2024-12-18T00:00:00Z",
            "2024-12-19T00:00:00Z",
            "2024-12-18",
        );
        assert_whole_utc_phrase(
            "on 2024-02-29",
            "2024-02-29T00:00:00Z",
            "2024-03-01T00:00:00Z",
            "2024-02-29",
        );
        assert_whole_utc_phrase(
            "in 2023",
            "2023-01-01T00:00:00Z",
            "2024-01-01T00:00:00Z",
            "2023",
        );
        let (range, _) = range_in("2024-12-18", monday_afternoon(), zone("Asia/Tokyo"));
        assert_eq!(range.from, Some(instant("2024-12-17T15:00:00Z")));
        assert_eq!(range.to, Some(instant("2024-12-18T15:00:00Z")));
        // a bare number is not a year, and an impossible ISO date is not a date
        assert_eq!(
            extract_time_range("budget 2024", monday_afternoon(), Tz::UTC).0,
            None
        );
        assert_eq!(
            extract_time_range("2024-02-30", monday_afternoon(), Tz::UTC).0,
            None
        );
    }

    // --- open-ended and two-sided ranges ---

    #[test]
    fn since_before_and_after() {
        assert_utc_phrase(
            "since December 1",
            Some("2024-12-01T00:00:00Z"),
            None,
            "since December 1",
            "",
        );
        assert_utc_phrase(
            "since last week",
            Some("2024-12-16T00:00:00Z"),
            None,
            "since last week",
            "",
        );
        assert_utc_phrase(
            "since yesterday",
            Some("2024-12-22T00:00:00Z"),
            None,
            "since yesterday",
            "",
        );
        assert_utc_phrase(
            "since 2024-12-01",
            Some("2024-12-01T00:00:00Z"),
            None,
            "since 2024-12-01",
            "",
        );
        assert_utc_phrase(
            "before December 18",
            None,
            Some("2024-12-18T00:00:00Z"),
            "before December 18",
            "",
        );
        assert_utc_phrase(
            "before yesterday",
            None,
            Some("2024-12-22T00:00:00Z"),
            "before yesterday",
            "",
        );
        assert_utc_phrase(
            "after December 18",
            Some("2024-12-19T00:00:00Z"),
            None,
            "after December 18",
            "",
        );
        assert_utc_phrase(
            "after last week",
            Some("2024-12-23T00:00:00Z"),
            None,
            "after last week",
            "",
        );
        assert_utc_phrase(
            "before 2024",
            None,
            Some("2024-01-01T00:00:00Z"),
            "before 2024",
            "",
        );
        assert_utc_phrase(
            "until friday",
            None,
            Some("2024-12-21T00:00:00Z"),
            "until Friday",
            "",
        );
        assert_utc_phrase(
            "messages since monday about the launch",
            Some("2024-12-23T00:00:00Z"),
            None,
            "since Monday",
            "messages about the launch",
        );
    }

    #[test]
    fn between_two_dates_includes_both_days() {
        assert_whole_utc_phrase(
            "between December 1 and December 18",
            "2024-12-01T00:00:00Z",
            "2024-12-19T00:00:00Z",
            "between December 1 and December 18",
        );
        assert_whole_utc_phrase(
            "between 2024-12-18 and 2024-12-01",
            "2024-12-01T00:00:00Z",
            "2024-12-19T00:00:00Z",
            "between 2024-12-18 and 2024-12-01",
        );
        let thursday = instant("2024-12-19T09:00:00Z");
        let (range, remaining) = range_in("notes from monday to wednesday", thursday, Tz::UTC);
        assert_eq!(range.from, Some(instant("2024-12-16T00:00:00Z")));
        assert_eq!(range.to, Some(instant("2024-12-19T00:00:00Z")));
        assert_eq!(range.label, "from Monday to Wednesday");
        assert_eq!(remaining, "notes");
    }

    #[test]
    fn from_before_the_expression_is_removed_with_it() {
        assert_utc_phrase(
            "that spreadsheet from last week",
            Some("2024-12-16T00:00:00Z"),
            Some("2024-12-23T00:00:00Z"),
            "last week",
            "that spreadsheet",
        );
        assert_utc_phrase(
            "Show me files from yesterday, please",
            Some("2024-12-22T00:00:00Z"),
            Some("2024-12-23T00:00:00Z"),
            "yesterday",
            "Show me files, please",
        );
        assert_utc_phrase(
            "YESTERDAY's   notes",
            Some("2024-12-22T00:00:00Z"),
            Some("2024-12-23T00:00:00Z"),
            "yesterday",
            "notes",
        );
        assert_utc_phrase(
            "what did we say (yesterday)?",
            Some("2024-12-22T00:00:00Z"),
            Some("2024-12-23T00:00:00Z"),
            "yesterday",
            "what did we say ()?",
        );
    }

    #[test]
    fn text_without_a_time_expression_is_only_tidied() {
        let (range, remaining) =
            extract_time_range("  the   budget\tspreadsheet ", monday_afternoon(), Tz::UTC);
        assert_eq!(range, None);
        assert_eq!(remaining, "the budget spreadsheet");
        for text in [
            "",
            "   ",
            "last",
            "since",
            "between monday and",
            "from",
            "3 days",
            "the last",
            "🙂 ☃️",
            "שלום עולם",
        ] {
            let _ = extract_time_range(text, monday_afternoon(), Tz::UTC);
        }
        let long_text = "lorem ipsum since between the last ".repeat(400);
        let (range, _) = extract_time_range(&long_text, monday_afternoon(), Tz::UTC);
        assert_eq!(range, None);
    }

    #[test]
    fn every_phrase_is_found_in_every_zone_and_never_runs_backwards() {
        let phrases = [
            "today",
            "yesterday",
            "the day before yesterday",
            "this week",
            "last week",
            "this month",
            "last month",
            "this year",
            "last year",
            "3 days ago",
            "a week ago",
            "two months ago",
            "in the last 3 days",
            "the past few days",
            "recently",
            "earlier today",
            "this morning",
            "this afternoon",
            "tonight",
            "on monday",
            "last monday",
            "sunday",
            "December 18",
            "18 December 2024",
            "dec 18",
            "2024-12-18",
            "since last week",
            "before yesterday",
            "after December 18",
            "between December 1 and December 18",
            "a few weeks ago",
            "last weekend",
            "in 2023",
            "since may",
            "feb 29",
        ];
        let zones = [
            "UTC",
            "Europe/Berlin",
            "America/Los_Angeles",
            "Asia/Kolkata",
            "Pacific/Apia",
            "America/Sao_Paulo",
        ];
        let moments = [
            "2024-12-23T15:00:00Z",
            "2018-11-04T03:30:00Z",
            "2024-03-31T00:30:00Z",
            "2011-12-31T12:00:00Z",
        ];
        for zone_name in zones {
            for moment in moments {
                for phrase in phrases {
                    let (range, remaining) =
                        extract_time_range(phrase, instant(moment), zone(zone_name));
                    let range =
                        range.unwrap_or_else(|| panic!("{phrase:?} in {zone_name} at {moment}"));
                    assert_eq!(remaining, "", "{phrase:?} in {zone_name} at {moment}");
                    if let (Some(from), Some(to)) = (range.from, range.to) {
                        assert!(
                            from <= to,
                            "{phrase:?} in {zone_name} at {moment}: {from} > {to}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn only_the_first_expression_is_taken() {
        assert_utc_phrase(
            "yesterday or last week",
            Some("2024-12-22T00:00:00Z"),
            Some("2024-12-23T00:00:00Z"),
            "yesterday",
            "or last week",
        );
    }

    // --- parse_since ---

    #[test]
    fn parse_since_reads_instants_dates_and_words() {
        let now = monday_afternoon();
        let berlin = zone("Europe/Berlin");
        assert_eq!(
            parse_since("2024-12-18T10:30:00+02:00", now, berlin),
            Ok(instant("2024-12-18T08:30:00Z"))
        );
        assert_eq!(
            parse_since("2024-12-18T10:30:00Z", now, Tz::UTC),
            Ok(instant("2024-12-18T10:30:00Z"))
        );
        assert_eq!(
            parse_since("2024-12-18", now, berlin),
            Ok(instant("2024-12-17T23:00:00Z"))
        );
        assert_eq!(
            parse_since(" 2024-12-18 ", now, Tz::UTC),
            Ok(instant("2024-12-18T00:00:00Z"))
        );
        assert_eq!(
            parse_since("yesterday", now, Tz::UTC),
            Ok(instant("2024-12-22T00:00:00Z"))
        );
        assert_eq!(
            parse_since("since last week", now, Tz::UTC),
            Ok(instant("2024-12-16T00:00:00Z"))
        );
        assert_eq!(
            parse_since("Since Monday.", now, Tz::UTC),
            Ok(instant("2024-12-23T00:00:00Z"))
        );
        assert_eq!(
            parse_since("in the last 3 days", now, Tz::UTC),
            Ok(instant("2024-12-20T15:00:00Z"))
        );
        // a wall-clock time without an offset is read in the zone
        assert_eq!(
            parse_since("2024-12-18T10:30", now, berlin),
            Ok(instant("2024-12-18T09:30:00Z"))
        );
    }

    #[test]
    fn parse_since_rejects_what_it_cannot_read() {
        let now = monday_afternoon();
        assert_eq!(
            parse_since("garbage", now, Tz::UTC),
            Err("since: cannot understand \"garbage\" (try a date such as 2024-12-18, or words such as yesterday or last week)".to_string())
        );
        assert!(parse_since("", now, Tz::UTC).is_err());
        assert!(parse_since("yesterday's budget", now, Tz::UTC).is_err());
        assert!(parse_since("before yesterday", now, Tz::UTC).is_err());
        assert!(parse_since("2024-02-30", now, Tz::UTC).is_err());
    }
}
