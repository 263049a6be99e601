"""Seed a benchmark database with generated clinic data, in bulk SQL.

`python -m bench.seed --database-url URL --size clinic|network [--reseed] [--out F.json]`
(DJANGO_SETTINGS_MODULE=config.settings.bench) creates the database if missing,
migrates it, and fills it, unless it already holds this size in this seed format (the
`bench_seed` table records what was seeded; `--reseed` truncates and seeds again).

What one size holds (`Size`): one clinic with its default settings, one clinic admin,
`therapists` therapists, `clients_per_therapist` clients each and `sessions_per_client`
sessions per client, all in the past, weekly or fortnightly, the latest within the
last two weeks for active clients (80 %) and up to ~15 months back for discharged ones,
so the whole history spans about two years; each active client also has their next
session booked, one gap after the latest (moved on by whole gaps until it is in the
future), as a diary would. For every attended session (~85 %): the
therapist's own rating; for clients with survey consent (95 %), an invitation in a final
state (answered ~78 %, expired, failed ~2 %; the newest may still be "sent") and, when
answered, the client's check-in. One attended session in ten has a note, encrypted the
app's way (sessions.notes.encrypt). Flags, their whole history (raised, acknowledged by
the therapist with a response, resolved) included, are computed in SQL from that data by
the rules of alliance.flags.rules with the clinic's default thresholds — see `FLAGS_SQL`;
`verify_flags_sample` runs the app's own `alliance.flags.rules.evaluate` on a sample of
clients and compares.

Every row is a function of its position (client i, session j), through PostgreSQL's
hashint8, so the data is the same on every run (dates are relative to the day of
seeding; note ciphertexts differ, as Fernet tokens carry a random IV). Ids are explicit,
from each table's current maximum + 1, so a tiny seed can go into a test database that
already has rows.
"""

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from urllib.parse import urlsplit, urlunsplit

SEED_FORMAT = 3  # 2: client comments encrypted at rest; 3: each active client's next session booked

BENCH_PASSWORD = "rapport-bench-only"
ADMIN_EMAIL = "admin@bench.rapport.test"


@dataclass(frozen=True)
class Size:
    name: str
    therapists: int
    clients_per_therapist: int
    sessions_per_client: int

    @property
    def clients(self):
        return self.therapists * self.clients_per_therapist

    @property
    def sessions(self):
        return self.clients * self.sessions_per_client


SIZES = {
    "clinic": Size("clinic", therapists=50, clients_per_therapist=50, sessions_per_client=20),
    "network": Size("network", therapists=500, clients_per_therapist=50, sessions_per_client=20),
}
DATABASES = {"clinic": "rapport_bench_clinic", "network": "rapport_bench_network"}


def therapist_email(n):
    return f"therapist{n:04d}@bench.rapport.test"


def R(key, salt, mod):
    """SQL for a deterministic pseudo-random integer in [0, mod) from an integer key."""
    # %% because every statement is run with pyformat parameters.
    return f"((hashint8(({key})::bigint * 64 + {salt}) & 2147483647) %% {mod})"


# --- the rows ----------------------------------------------------------------------------

# Per client (logical index i): schedule, consent, baseline alliance. A temporary table,
# dropped at commit, so every later statement reads the same values.
CLIENT_PARAMS_SQL = f"""
CREATE TEMP TABLE bench_cp ON COMMIT DROP AS
SELECT i,
       %(c_base)s + i AS id,
       %(t_base)s + i / %(cpt)s AS therapist_id,
       CASE WHEN {R('i', 1, 10)} < 6 THEN 7 ELSE 14 END AS gap,
       {R('i', 2, 10)} < 2 AS discharged,
       CASE WHEN {R('i', 2, 10)} < 2 THEN 45 + {R('i', 3, 420)} ELSE {R('i', 3, 14)} END AS last_day,
       8 + {R('i', 4, 10)} AS hour,
       {R('i', 5, 100)} < 95 AS consent,
       8 + ({R('i', 11, 10)} >= 1)::int + ({R('i', 11, 10)} >= 5)::int AS base
FROM generate_series(0, %(n_clients)s - 1) AS i
"""

CLIENTS_SQL = f"""
INSERT INTO clients_client (id, clinic_id, therapist_id, display_name, email, phone, survey_consent, opted_out_at,
                            language, modality, relationship_approach, status, discharged_at, created_at, updated_at)
SELECT cp.id, %(clinic)s, cp.therapist_id,
       chr(65 + {R('cp.i', 7, 26)}) || '.' || chr(65 + {R('cp.i', 8, 26)}) || '. ' || (cp.i + 1),
       CASE WHEN cp.consent THEN 'client' || (cp.i + 1) || '@bench.example.org' ELSE '' END,
       '', cp.consent, NULL,
       CASE WHEN {R('cp.i', 9, 100)} < 85 THEN 'en' ELSE 'es' END,
       (ARRAY['cbt','cbt','cbt','cbt','humanistic','humanistic','psychodynamic','psychodynamic','other','other'])
           [1 + {R('cp.i', 10, 10)}],
       (ARRAY['collaborative','supportive','directive'])[1 + {R('cp.i', 12, 3)}],
       CASE WHEN cp.discharged THEN 'discharged' ELSE 'active' END,
       CASE WHEN cp.discharged THEN first_last.last_start + interval '21 days' END,
       first_last.first_start - interval '7 days',
       first_last.last_start + CASE WHEN cp.discharged THEN interval '21 days' ELSE interval '0 days' END
FROM bench_cp cp,
     LATERAL (SELECT %(day0)s::timestamptz - make_interval(days => cp.last_day + (%(n_sess)s - 1) * cp.gap)
                     + make_interval(hours => cp.hour) AS first_start,
                     %(day0)s::timestamptz - make_interval(days => cp.last_day)
                     + make_interval(hours => cp.hour) AS last_start) AS first_last
"""

# Per session (logical index k = i * sessions_per_client + j, j = 0 oldest): when, whether
# attended, the invitation's fate and both sides' scores.
SESSION_PARAMS_SQL = f"""
CREATE TEMP TABLE bench_sp ON COMMIT DROP AS
WITH s AS (
    SELECT cp.i * %(n_sess)s + j AS k, cp.id AS client_id, cp.therapist_id, cp.consent, cp.base,
           %(day0)s::timestamptz - make_interval(days => cp.last_day + (%(n_sess)s - 1 - j) * cp.gap)
               + make_interval(hours => cp.hour, mins => 30 * ({R('cp.i * %(n_sess)s + j', 6, 2)})) AS st
    FROM bench_cp cp CROSS JOIN generate_series(0, %(n_sess)s - 1) AS j
), a AS (
    SELECT s.*,
           CASE WHEN {R('k', 13, 100)} < 85 THEN 'attended'
                WHEN {R('k', 13, 100)} < 91 THEN 'no_show'
                WHEN {R('k', 13, 100)} < 96 THEN 'late_cancel'
                ELSE 'cancelled' END AS attendance,
           st + interval '50 minutes' + interval '1 hour' AS due,
           st + interval '50 minutes' + interval '1 hour 1 minute' AS sent,
           make_interval(hours => 1 + {R('k', 40, 70)}) AS delay,
           {R('k', 41, 100)} AS fate
    FROM s
)
SELECT a.k, %(s_base)s + a.k AS id, a.client_id, a.therapist_id, a.st, a.attendance,
       (ARRAY['in_person','in_person','in_person','in_person','in_person','in_person','video','video','video','phone'])
           [1 + {R('a.k', 14, 10)}] AS format,
       a.attendance = 'attended' AND a.consent AS invited,
       a.due, a.sent, a.sent + interval '7 days' AS expires, a.sent + a.delay AS answered,
       CASE WHEN a.fate < 2 THEN 'failed'
            WHEN a.fate < 80 AND a.sent + a.delay <= %(anchor)s THEN 'answered'
            WHEN a.sent + interval '7 days' <= %(anchor)s THEN 'expired'
            ELSE 'sent' END AS status,
       {R('a.k', 25, 20)} = 0 AS dip,
       -- Client dimensions: the client's baseline, a little noise, now and then a dip.
       least(10, greatest(0, a.base + (ARRAY[-2,-1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,1,1,1])[1 + {R('a.k', 20, 20)}]
                          - CASE WHEN {R('a.k', 25, 20)} = 0 THEN 3 ELSE 0 END)) AS c_trust,
       least(10, greatest(0, a.base + (ARRAY[-2,-1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,1,1,1])[1 + {R('a.k', 21, 20)}]
                          - CASE WHEN {R('a.k', 25, 20)} = 0 THEN 3 ELSE 0 END)) AS c_empathy,
       least(10, greatest(0, a.base + (ARRAY[-2,-1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,1,1,1])[1 + {R('a.k', 22, 20)}]
                          - CASE WHEN {R('a.k', 25, 20)} = 0 THEN 3 ELSE 0 END)) AS c_boundaries,
       least(10, greatest(0, a.base + (ARRAY[-2,-1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,1,1,1])[1 + {R('a.k', 23, 20)}]
                          - CASE WHEN {R('a.k', 25, 20)} = 0 THEN 3 ELSE 0 END)) AS c_collaboration,
       -- The therapist's view: the same baseline, a touch higher, blind to the dips.
       least(10, a.base + ({R('a.k', 30, 4)} = 0)::int) AS t_trust,
       least(10, a.base + ({R('a.k', 31, 4)} = 0)::int) AS t_empathy,
       least(10, a.base + ({R('a.k', 32, 4)} = 0)::int) AS t_boundaries,
       least(10, a.base + ({R('a.k', 33, 4)} = 0)::int) AS t_collaboration,
       a.attendance = 'attended' AND {R('a.k', 50, 10)} = 0 AS has_note
FROM a
"""

SESSIONS_SQL = """
INSERT INTO therapy_sessions_session (id, client_id, therapist_id, scheduled_start, duration_minutes, attendance,
                                      format, created_at, updated_at, form_token)
SELECT id, client_id, therapist_id, st, 50, attendance, format,
       st + interval '50 minutes', st + interval '50 minutes', NULL
FROM bench_sp ORDER BY id
"""

# Each active client's next session, booked, in their rhythm: the first of last_start +
# n × gap that is at least three days after day0 (so after the anchor, which is within
# two days of it). Ids follow the held sessions'. No check-in, no invitation, no note.
BOOKINGS_SQL = """
INSERT INTO therapy_sessions_session (id, client_id, therapist_id, scheduled_start, duration_minutes, attendance,
                                      format, created_at, updated_at, form_token)
SELECT %(s_base)s + %(n_clients)s * %(n_sess)s + cp.i, cp.id, cp.therapist_id,
       %(day0)s::timestamptz + make_interval(days => ((cp.last_day + 2) / cp.gap + 1) * cp.gap - cp.last_day,
                                             hours => cp.hour),
       50, 'booked', 'in_person', %(day0)s::timestamptz, %(day0)s::timestamptz, NULL
FROM bench_cp cp WHERE NOT cp.discharged ORDER BY cp.i
"""

THERAPIST_CHECKINS_SQL = """
INSERT INTO alliance_checkin (id, session_id, client_id, source, trust, empathy, boundaries, collaboration,
                              comment, submitted_at)
SELECT %(ck_base)s + 2 * k, id, client_id, 'therapist', t_trust, t_empathy, t_boundaries, t_collaboration,
       '', st + interval '50 minutes'
FROM bench_sp WHERE attendance = 'attended' ORDER BY k
"""

CLIENT_CHECKINS_SQL = f"""
INSERT INTO alliance_checkin (id, session_id, client_id, source, trust, empathy, boundaries, collaboration,
                              comment, submitted_at)
SELECT %(ck_base)s + 2 * k + 1, id, client_id, 'client', c_trust, c_empathy, c_boundaries, c_collaboration,
       CASE WHEN {R('k', 42, 10)} = 0 THEN %(comment)s ELSE '' END, answered
FROM bench_sp WHERE invited AND status = 'answered' ORDER BY k
"""

INVITATIONS_SQL = """
INSERT INTO alliance_surveyinvitation (
    id, session_id, client_id, token_hash, reminder_token_hash, status, due_at, claimed_at, claim_id,
    attempt_started_at, lease_until, sent_at, reminded_at, opened_at, answered_at, expires_at, attempts,
    last_error, created_at)
SELECT %(i_base)s + k, id, client_id,
       encode(sha256(convert_to('bench-invitation-' || (%(i_base)s + k), 'UTF8')), 'hex'),
       CASE WHEN reminded IS NOT NULL THEN encode(sha256(convert_to('bench-reminder-' || (%(i_base)s + k), 'UTF8')), 'hex') END,
       status, due, due, md5('bench-claim-' || (%(i_base)s + k))::uuid::text,
       NULL, NULL,
       CASE WHEN status <> 'failed' THEN sent END,
       reminded,
       CASE WHEN status = 'answered' THEN answered - interval '3 minutes' END,
       CASE WHEN status = 'answered' THEN answered END,
       CASE WHEN status <> 'failed' THEN expires END,
       CASE WHEN status = 'failed' THEN 5 ELSE 1 END,
       CASE WHEN status = 'failed' THEN 'SMTPRecipientsRefused: 550 mailbox unavailable' ELSE '' END,
       st + interval '50 minutes'
FROM (
    SELECT bench_sp.*,
           CASE WHEN status IN ('expired', 'sent') AND sent + interval '48 hours' <= %(anchor)s
                  OR status = 'answered' AND answered > sent + interval '48 hours'
                THEN sent + interval '48 hours' END AS reminded
    FROM bench_sp WHERE invited
) AS x ORDER BY k
"""

# Flags, the way alliance.flags.rules would have raised and cleared them as the data arrived.
# Each rule is a condition evaluated at every event of its own sequence (a client
# check-in, a logged session, an invitation that was answered or expired); a run of
# events where it holds is one flag: raised at the first, carrying the finding (session,
# detail) of the last, resolved at the first event where it no longer holds, or at
# discharge (which clears every flag), or still open. The open flags are then exactly
# what alliance.flags.rules.evaluate finds today. Acknowledgements fall after the last event
# of their run, so no acknowledged session-bound flag ever saw a "new occurrence" (which
# the app would turn into a second flag). Default thresholds only: `DEFAULTS` below,
# checked against the Clinic model.
DEFAULTS = {
    "low_total_below": 36, "low_dimension_below": 7, "drop_points": 3, "declining_run": 3,
    "discrepancy_points": 6, "no_feedback_expired": 2, "attendance_missed": 2, "attendance_window": 5,
}

FLAGS_SQL = f"""
INSERT INTO alliance_flag (id, client_id, kind, severity, session_id, detail, raised_at, acknowledged_at,
                           acknowledged_by_id, response, response_text, resolved_at)
WITH ci AS (
    SELECT c.client_id, c.session_id, s.scheduled_start AS ord, c.submitted_at AS t, c.total,
           c.trust, c.empathy, c.boundaries, c.collaboration,
           lag(c.total, 1) OVER w AS p1, lag(c.total, 2) OVER w AS p2, th.total AS tt
    FROM alliance_checkin c
    JOIN therapy_sessions_session s ON s.id = c.session_id
    LEFT JOIN alliance_checkin th ON th.session_id = c.session_id AND th.source = 'therapist'
    WHERE c.source = 'client' AND c.client_id BETWEEN %(c_lo)s AND %(c_hi)s
    WINDOW w AS (PARTITION BY c.client_id ORDER BY s.scheduled_start, c.session_id)
), ev AS (
    SELECT client_id, 'low_alliance' AS kind, t, ord, session_id,
           total < {DEFAULTS['low_total_below']}
               OR least(trust, empathy, boundaries, collaboration) < {DEFAULTS['low_dimension_below']} AS cond,
           'total ' || total || '/40' || CASE WHEN least(trust, empathy, boundaries, collaboration)
                                                   < {DEFAULTS['low_dimension_below']}
               THEN '; below {DEFAULTS['low_dimension_below']}: ' || concat_ws(', ',
                   CASE WHEN trust < {DEFAULTS['low_dimension_below']} THEN 'trust' END,
                   CASE WHEN empathy < {DEFAULTS['low_dimension_below']} THEN 'empathy' END,
                   CASE WHEN boundaries < {DEFAULTS['low_dimension_below']} THEN 'boundaries' END,
                   CASE WHEN collaboration < {DEFAULTS['low_dimension_below']} THEN 'collaboration' END)
               ELSE '' END AS detail
    FROM ci
    UNION ALL
    SELECT client_id, 'drop', t, ord, session_id, coalesce(p1 - total >= {DEFAULTS['drop_points']}, false),
           'fell ' || (p1 - total) || ' points (' || p1 || ' → ' || total || ')'
    FROM ci
    UNION ALL
    SELECT client_id, 'declining', t, ord, session_id, coalesce(p2 > p1 AND p1 > total, false),
           '3 falling totals: ' || p2 || ' → ' || p1 || ' → ' || total
    FROM ci
    UNION ALL
    SELECT client_id, 'discrepancy', t, ord, session_id, coalesce(tt - total >= {DEFAULTS['discrepancy_points']}, false),
           'therapist ' || tt || ' vs client ' || total
    FROM ci
    UNION ALL
    SELECT client_id, 'attendance', scheduled_start + make_interval(mins => duration_minutes), scheduled_start,
           last_missed, n_missed >= {DEFAULTS['attendance_missed']},
           n_missed || ' missed of the last ' || n_window || ' sessions'
    FROM (
        SELECT s.client_id, s.scheduled_start, s.duration_minutes,
               count(*) FILTER (WHERE s.attendance IN ('no_show', 'late_cancel')) OVER w AS n_missed,
               count(*) OVER w AS n_window,
               max(s.id) FILTER (WHERE s.attendance IN ('no_show', 'late_cancel')) OVER w AS last_missed
        FROM therapy_sessions_session s
        -- As alliance.flags.rules: a booked session is neither attended nor missed.
        WHERE s.client_id BETWEEN %(c_lo)s AND %(c_hi)s AND s.attendance <> 'booked'
        WINDOW w AS (PARTITION BY s.client_id ORDER BY s.scheduled_start, s.id
                     ROWS BETWEEN {DEFAULTS['attendance_window'] - 1} PRECEDING AND CURRENT ROW)
    ) AS att
    UNION ALL
    SELECT client_id, 'no_feedback', coalesce(answered_at, expires_at), due_at, session_id,
           status <> 'answered' AND prev_status IS NOT NULL AND prev_status <> 'answered',
           'last 2 check-ins expired unanswered'
    FROM (
        SELECT i.client_id, i.session_id, i.status, i.due_at, i.answered_at, i.expires_at,
               lag(i.status) OVER (PARTITION BY i.client_id ORDER BY i.due_at, i.id) AS prev_status
        FROM alliance_surveyinvitation i
        WHERE i.client_id BETWEEN %(c_lo)s AND %(c_hi)s AND i.status IN ('answered', 'expired')
    ) AS inv
), runs AS (
    SELECT ev.*, sum(CASE WHEN cond AND NOT coalesce(prev_cond, false) THEN 1 ELSE 0 END)
                     OVER (PARTITION BY client_id, kind ORDER BY t, ord) AS run
    FROM (SELECT ev.*, lag(cond) OVER (PARTITION BY client_id, kind ORDER BY t, ord) AS prev_cond FROM ev) AS ev
), flags AS (
    SELECT client_id, kind, run,
           min(t) FILTER (WHERE cond) AS raised_at,
           max(t) FILTER (WHERE cond) AS last_seen,
           (array_agg(session_id ORDER BY t DESC, ord DESC) FILTER (WHERE cond))[1] AS session_id,
           (array_agg(detail ORDER BY t DESC, ord DESC) FILTER (WHERE cond))[1] AS detail,
           min(t) FILTER (WHERE NOT cond) AS cleared_at
    FROM runs WHERE run > 0
    GROUP BY client_id, kind, run
), f AS (
    SELECT flags.*, c.therapist_id, coalesce(flags.cleared_at, c.discharged_at) AS resolved_at,
           (c.id - %(c_base)s) * 1024 + array_position(ARRAY['low_alliance','drop','declining','discrepancy',
                                                             'no_feedback','attendance'], flags.kind) * 128 AS key
    FROM flags JOIN clients_client c ON c.id = flags.client_id
), g AS (
    SELECT f.*,
           CASE WHEN {R('f.key + f.run', 60, 100)} < CASE WHEN f.resolved_at IS NULL THEN 40 ELSE 60 END
                THEN f.last_seen + (coalesce(f.resolved_at, %(anchor)s) - f.last_seen)
                                   * ((1 + {R('f.key + f.run', 61, 8)}) / 10.0) END AS acknowledged_at
    FROM f
)
SELECT %(f_base)s + row_number() OVER (ORDER BY client_id, raised_at, kind) - 1,
       client_id, kind,
       CASE kind WHEN 'drop' THEN 5 WHEN 'low_alliance' THEN 4 WHEN 'declining' THEN 4
                 WHEN 'discrepancy' THEN 3 WHEN 'attendance' THEN 2 ELSE 1 END,
       session_id, detail, raised_at, acknowledged_at,
       CASE WHEN acknowledged_at IS NOT NULL THEN therapist_id END,
       CASE WHEN acknowledged_at IS NOT NULL
            THEN (ARRAY['discussed','discussed','adjusted','frequency','referred','other'])[1 + {R('key + run', 62, 6)}]
            ELSE '' END,
       '', resolved_at
FROM g
"""

NOTE_TEXTS = [
    "Reviewed the week; agreed on one small step before next time.",
    "Talked about what felt off last session and what to change.",
    "Worked on the goal we set together; client led the agenda.",
    "Shorter session; checked in on sleep and routines.",
    "Revisited the plan; client wants to go at a slower pace.",
    "Practised the exercise in session; homework agreed.",
]

SEEDED_TABLES = [
    "accounts_clinic", "accounts_user", "otp_totp_totpdevice", "clients_client", "therapy_sessions_session",
    "therapy_sessions_sessionnote", "alliance_checkin", "alliance_surveyinvitation", "alliance_flag",
]


def _next_id(cursor, table):
    cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")
    return cursor.fetchone()[0]


def _check_defaults():
    from accounts.models import Clinic

    for name, value in DEFAULTS.items():
        actual = Clinic._meta.get_field(name).default
        if actual != value:
            raise RuntimeError(f"bench.seed computes flags with {name}={value} but the Clinic default is {actual}")


def seed_data(size, *, now=None, log=print):
    """Insert one size's rows through Django's default connection, inside the caller's
    transaction. Returns {table: rows inserted} and the clinic id. No transaction
    control, no VACUUM: a test can call it inside its own transaction."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import Clinic, User
    from sessions import notes

    _check_defaults()
    now = now or datetime.now(dt_timezone.utc)
    # Held sessions are dated from midnight UTC yesterday backwards, so all are in the
    # past; only the booked ones (BOOKINGS_SQL) are ahead.
    day0 = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    counts = {}
    with connection.cursor() as cursor:
        bases = {t: _next_id(cursor, t) for t in SEEDED_TABLES}
    t0 = time.perf_counter()

    clinic = Clinic.objects.create(id=bases["accounts_clinic"], name=f"Bench {size.name.title()} Clinic",
                                   timezone="Europe/London", created_at=day0 - timedelta(days=800))
    password = make_password(BENCH_PASSWORD)
    uid = bases["accounts_user"]
    users = [User(id=uid, email=ADMIN_EMAIL if size.name in SIZES else f"admin-{uid}@bench.rapport.test",
                  full_name="Bench Admin", role=User.Role.CLINIC_ADMIN, clinic=clinic, password=password,
                  date_joined=clinic.created_at)]
    t_base = uid + 1
    for n in range(size.therapists):
        users.append(User(id=t_base + n, email=therapist_email(n + 1) if size.name in SIZES
                          else f"therapist-{t_base + n}@bench.rapport.test",
                          full_name=f"Therapist {n + 1:04d}", role=User.Role.THERAPIST, clinic=clinic,
                          password=password, date_joined=clinic.created_at))
    User.objects.bulk_create(users, batch_size=1000)
    # A confirmed authenticator for every staff member, so any of them can be logged in.
    TOTPDevice.objects.bulk_create(
        [TOTPDevice(id=bases["otp_totp_totpdevice"] + n, user_id=u.id, name="Bench authenticator", confirmed=True)
         for n, u in enumerate(users)], batch_size=1000,
    )
    counts["accounts_user"] = len(users)

    params = {
        "clinic": clinic.id, "c_base": bases["clients_client"], "t_base": t_base,
        "cpt": size.clients_per_therapist, "n_clients": size.clients, "n_sess": size.sessions_per_client,
        "s_base": bases["therapy_sessions_session"], "ck_base": bases["alliance_checkin"],
        "i_base": bases["alliance_surveyinvitation"], "f_base": bases["alliance_flag"],
        "day0": day0, "anchor": now,
        # Comments are encrypted at rest as the app writes them (sessions.notes).
        "comment": notes.encrypt("Thank you for today."),
        "c_lo": bases["clients_client"], "c_hi": bases["clients_client"] + size.clients - 1,
    }
    steps = [
        ("client parameters", CLIENT_PARAMS_SQL, None),
        ("clients", CLIENTS_SQL, "clients_client"),
        ("session parameters", SESSION_PARAMS_SQL, None),
        ("sessions", SESSIONS_SQL, "therapy_sessions_session"),
        ("booked sessions", BOOKINGS_SQL, "sessions_booked"),
        ("therapist check-ins", THERAPIST_CHECKINS_SQL, "checkins_therapist"),
        ("invitations", INVITATIONS_SQL, "alliance_surveyinvitation"),
        ("client check-ins", CLIENT_CHECKINS_SQL, "checkins_client"),
    ]
    with connection.cursor() as cursor:
        for label, sql, key in steps:
            t = time.perf_counter()
            cursor.execute(sql, params)
            if key:
                counts[key] = cursor.rowcount
            log(f"  {label:<22} {cursor.rowcount:>9,} rows  {time.perf_counter() - t:6.1f} s")

        # Notes: encrypted in Python, exactly as sessions.models.SessionNote.text does,
        # then streamed in with COPY.
        t = time.perf_counter()
        cursor.execute("SELECT k, id, therapist_id, st FROM bench_sp WHERE has_note ORDER BY k")
        rows = cursor.fetchall()
        note_base = bases["therapy_sessions_sessionnote"]
        import io

        buf = io.StringIO()
        for n, (k, session_id, therapist_id, start) in enumerate(rows):
            ciphertext = notes.encrypt(NOTE_TEXTS[k % len(NOTE_TEXTS)])
            buf.write(f"{note_base + n}\t{session_id}\t{therapist_id}\t{ciphertext}\t"
                      f"{(start + timedelta(minutes=55)).isoformat()}\n")
        buf.seek(0)
        cursor.cursor.copy_expert(
            "COPY therapy_sessions_sessionnote (id, session_id, author_id, ciphertext, updated_at) FROM STDIN", buf
        )
        counts["therapy_sessions_sessionnote"] = len(rows)
        log(f"  {'notes (encrypted)':<22} {len(rows):>9,} rows  {time.perf_counter() - t:6.1f} s")

        t = time.perf_counter()
        cursor.execute(FLAGS_SQL, params)
        counts["alliance_flag"] = cursor.rowcount
        log(f"  {'flags (history)':<22} {cursor.rowcount:>9,} rows  {time.perf_counter() - t:6.1f} s")

        for table in SEEDED_TABLES:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 1) FROM {table}))"
            )
        cursor.execute("DROP TABLE IF EXISTS bench_sp, bench_cp")
    counts["checkins"] = counts.pop("checkins_therapist") + counts.pop("checkins_client", 0)
    counts["therapy_sessions_session"] += counts["sessions_booked"]
    log(f"  inserted in {time.perf_counter() - t0:.1f} s")
    return {"clinic_id": clinic.id, "counts": counts, "anchor": now.isoformat()}


def verify_flags_sample(clinic_id, n=200, now=None):
    """Run the app's own rule evaluation (alliance.flags.rules.evaluate, read-only) on up to
    n active clients spread across the clinic, and compare its findings with the open
    flags the seed stored. Returns (clients checked, list of mismatches)."""
    from accounts.models import Clinic
    from alliance.flags.rules import evaluate
    from alliance.models import Flag
    from clients.models import Client

    clinic = Clinic.objects.get(pk=clinic_id)
    ids = list(Client.objects.filter(clinic=clinic, status=Client.Status.ACTIVE).order_by("id")
               .values_list("id", flat=True))
    step = max(1, len(ids) // n)
    sample = ids[::step][:n]
    mismatches = []
    for client in Client.objects.filter(id__in=sample):
        found = {(f.kind, f.session_id, f.detail) for f in evaluate(client, clinic, now)}
        stored = set(Flag.objects.filter(client=client, resolved_at__isnull=True)
                     .values_list("kind", "session_id", "detail"))
        if found != stored:
            mismatches.append({"client": client.id, "app": sorted(found), "seeded": sorted(stored)})
    return len(sample), mismatches


# --- the database --------------------------------------------------------------------

META_SQL = """
CREATE TABLE IF NOT EXISTS bench_seed (
    size text NOT NULL, format int NOT NULL, seeded_at timestamptz NOT NULL,
    seconds double precision NOT NULL, detail jsonb NOT NULL
)"""


def server_url(url, dbname="postgres"):
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{dbname}"))


def ensure_database(url):
    """Create the database named in the URL if it does not exist. Returns True if created."""
    import psycopg2

    name = urlsplit(url).path.lstrip("/")
    conn = psycopg2.connect(server_url(url))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cur.fetchone():
                return False
            cur.execute(f'CREATE DATABASE "{name}"')
            return True
    finally:
        conn.close()


def recorded(cursor):
    cursor.execute(META_SQL)
    cursor.execute("SELECT size, format, seeded_at, seconds, detail FROM bench_seed ORDER BY seeded_at DESC LIMIT 1")
    row = cursor.fetchone()
    if row is None:
        return None
    size, fmt, seeded_at, seconds, detail = row
    detail = detail if isinstance(detail, dict) else json.loads(detail)
    return {"size": size, "format": fmt, "seeded_at": seeded_at.isoformat(), "seconds": seconds, **detail}


def dashboard_figures(clinic_id, *, log=print, only_if_missing=False):
    """The clinic dashboard reads figures kept per day as the data changes
    (clinic/dashboards/figures.py); the seed writes raw rows past the services that keep
    them, so they are built here, as a rebuild after a time-zone change would. A
    database seeded before the figures existed gets them on its next run."""
    from accounts.models import Clinic
    from clinic.dashboards.figures import figures_recompute
    from clinic.models import ClinicDayFigures, TherapistCaseload

    if (only_if_missing and ClinicDayFigures.objects.filter(clinic_id=clinic_id).exists()
            and TherapistCaseload.objects.filter(clinic_id=clinic_id).exists()):
        return
    t = time.perf_counter()
    clinic = Clinic.objects.get(pk=clinic_id)
    figures_recompute(clinic)  # the caseloads too
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("clinic_therapistdayfigures", "clinic_clinicdayfigures", "clinic_therapistcaseload"):
            # Statistics, so the planner uses their indexes (ANALYZE, unlike VACUUM,
            # also runs inside a test's transaction).
            cursor.execute(f"ANALYZE {table}")
    log(f"  dashboard figures       {time.perf_counter() - t:6.1f} s")


def seed(size, *, reseed=False, log=print):
    """Migrate and seed the configured database (Django already set up for it) unless it
    already holds this size in this format. Returns what is recorded, plus
    "skipped": True/False."""
    from django.core.management import call_command
    from django.db import connection, transaction

    started = time.perf_counter()
    # --skip-checks: the checks import the URLconf, which need not be complete to seed.
    call_command("migrate", verbosity=0, interactive=False, skip_checks=True)
    with connection.cursor() as cursor:
        have = recorded(cursor)
    if have and not reseed and have["size"] == size.name and have["format"] == SEED_FORMAT:
        log(f"{size.name}: already seeded on {have['seeded_at']} (format {SEED_FORMAT}); --reseed to redo")
        dashboard_figures(have["clinic_id"], log=log, only_if_missing=True)
        return {**have, "skipped": True}

    log(f"{size.name}: seeding {size.therapists} therapists, {size.clients:,} clients, {size.sessions:,} sessions")
    t0 = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
            cursor.execute("SET LOCAL work_mem = '64MB'")
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            # Everything the app stores, from the top: clinics and staff cascade to
            # clients, sessions, check-ins, flags, notes, devices and the audit trail.
            cursor.execute("TRUNCATE accounts_clinic, accounts_user, django_session RESTART IDENTITY CASCADE")
            cursor.execute("DELETE FROM bench_seed")
        result = seed_data(size, log=log)
    insert_seconds = time.perf_counter() - t0
    # Statistics and the visibility map, as autovacuum would leave a live database.
    t = time.perf_counter()
    with connection.cursor() as cursor:
        for table in SEEDED_TABLES:
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    log(f"  vacuum analyze          {time.perf_counter() - t:6.1f} s")
    # The figure the < 10 minutes target is about: migrate, truncate, insert, commit
    # (where the deferred foreign keys are checked) and vacuum.
    seconds = time.perf_counter() - started

    dashboard_figures(result["clinic_id"], log=log)
    t = time.perf_counter()
    checked, mismatches = verify_flags_sample(result["clinic_id"])
    log(f"  flags checked against alliance.flags.rules.evaluate for {checked} clients: "
        f"{len(mismatches)} mismatches ({time.perf_counter() - t:.1f} s)")
    for m in mismatches[:5]:
        log(f"    {m}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FILTER (WHERE resolved_at IS NULL), "
                       "count(*) FILTER (WHERE resolved_at IS NULL AND acknowledged_at IS NOT NULL), "
                       "count(DISTINCT client_id) FILTER (WHERE resolved_at IS NULL) FROM alliance_flag")
        open_flags, acknowledged, flagged_clients = cursor.fetchone()
    detail = {
        **result, "size_spec": asdict(size), "insert_seconds": round(insert_seconds, 1),
        "open_flags": open_flags, "open_acknowledged": acknowledged, "clients_with_open_flags": flagged_clients,
        "flags_sample_checked": checked, "flags_sample_mismatches": len(mismatches),
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_seed (size, format, seeded_at, seconds, detail) VALUES (%s, %s, now(), %s, %s)",
                       [size.name, SEED_FORMAT, seconds, json.dumps(detail)])
    log(f"{size.name}: seeded in {seconds:.1f} s (inserts {insert_seconds:.1f} s)")
    with connection.cursor() as cursor:
        return {**recorded(cursor), "skipped": False}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--size", choices=sorted(SIZES), required=True)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--out", help="write what was seeded as JSON here")
    args = parser.parse_args(argv)

    ensure_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.bench")
    import django

    django.setup()
    result = seed(SIZES[args.size], reseed=args.reseed)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(result, fh, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
