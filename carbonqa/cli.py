"""The ``carbonqa`` command line: ``synth | ingest | screen | cases | adapt | users | db | verify``.

Every command is a thin wrapper: it parses options, imports its module lazily (so ``carbonqa --help``
stays fast) and calls one function. Exit codes: 0 success, 1 nothing could be done (the reason is
printed), 2 usage error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["app", "main"]

app = typer.Typer(add_completion=False, no_args_is_help=True, help="carbonqa — 全国碳市场数据质量监测 / carbon-market data-quality surveillance")
cases_app = typer.Typer(no_args_is_help=True, help="案件 / cases: export")
users_app = typer.Typer(no_args_is_help=True, help="用户 / users: create, list")
db_app = typer.Typer(no_args_is_help=True, help="案件库 / case store: upgrade")
adapt_app = typer.Typer(no_args_is_help=True, help="真实数据适配 / turn real public data into contract bundles")
runs_app = typer.Typer(no_args_is_help=True, help="运行记录 / screening runs: last, watch")
app.add_typer(cases_app, name="cases")
app.add_typer(users_app, name="users")
app.add_typer(db_app, name="db")
app.add_typer(adapt_app, name="adapt")
app.add_typer(runs_app, name="runs")


# ---- db --------------------------------------------------------------------------------------------
@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the case store to the newest schema."""
    from carbonqa.settings import get_settings
    from carbonqa.store import upgrade

    upgrade()
    typer.echo(f"case store at head: {get_settings().db_url}")


# ---- verify (owner: carbonqa/store/chain) ---------------------------------------------------------
@app.command()
def verify() -> None:
    """Recompute every hash chain (raw tables, case events, chain heads); exit 1 at a broken link.

    Prints each chain's row count and head, then every chain's first broken link (table, row id,
    expected vs found), recorded heads that no longer match and missing append-only triggers.
    """
    from carbonqa.settings import get_settings
    from carbonqa.store import chain, get_engine, upgrade

    upgrade()
    with get_engine().connect() as conn:
        rep = chain.verify(conn)
        last = chain.latest_head(conn)
    typer.echo(f"case store: {get_settings().db_url}")
    for st in rep.chains.values():
        mark = "ok" if st.n_breaks == 0 else f"BROKEN ({st.n_breaks} link(s))"
        typer.echo(f"  {st.table:<22} {st.rows:>9,} rows  head {st.head[:16]}  {mark}")
    if last is not None:
        typer.echo(f"latest recorded head: run {last[0]} at {last[2]:%Y-%m-%d %H:%M:%S} → {last[1]}")
    if rep.ok:
        typer.echo("all chains intact")
        return
    breaks = [st.first_break for st in rep.chains.values() if st.first_break is not None] + rep.other
    typer.echo(f"TAMPERING DETECTED — first broken link: {breaks[0].describe()}")
    for b in breaks[1:]:
        typer.echo(f"  also: {b.describe()}")
    raise typer.Exit(code=1)


# ---- synth (owner: carbonqa/synth) ----------------------------------------------------------------
@app.command()
def synth(
    out: Annotated[Path, typer.Option("--out", help="bundle directory to write")],
    year: Annotated[int, typer.Option(help="reporting year")] = 2024,
    provinces: Annotated[str | None, typer.Option(help="comma-separated GB/T 2260 codes, e.g. 15,37")] = None,
    seed: Annotated[int, typer.Option(help="random seed (deterministic per seed)")] = 0,
    fraud_rate: Annotated[float, typer.Option("--fraud-rate", help="share of enterprises with an injected pattern")] = 0.08,
    telemetry: Annotated[bool, typer.Option(help="write hourly telemetry")] = True,
    labels: Annotated[Path | None, typer.Option(help="where to write labels.csv (default: beside the bundle)")] = None,
) -> None:
    """Generate a synthetic national bundle on the real registry (labels written outside the bundle)."""
    from carbonqa.synth import generate_bundle

    prov = [p.strip() for p in provinces.split(",")] if provinces else None
    summary = generate_bundle(
        out, year=year, provinces=prov, seed=seed, fraud_rate=fraud_rate, telemetry=telemetry, labels_path=labels
    )
    typer.echo(summary)


# ---- ingest (owner: carbonqa/ingest) --------------------------------------------------------------
@app.command()
def ingest(
    bundle: Annotated[Path, typer.Option("--bundle", help="bundle directory with manifest.json")],
) -> None:
    """Ingest a submission bundle: validate, store (append-only), quarantine what fails.

    Outside a run, the chain heads are recorded under ``ingest:<bundle_id>`` (``carbonqa verify``).
    """
    from carbonqa.ingest import ingest_bundle
    from carbonqa.store import chain, get_engine, upgrade

    upgrade()
    result = ingest_bundle(bundle)
    typer.echo(result.describe())
    with get_engine().begin() as conn:
        chain.record_heads(conn, f"ingest:{result.bundle_id}"[:100])
    if result.outcome == "rejected":
        raise typer.Exit(code=1)


# ---- screen (owner: carbonqa/pipeline) ------------------------------------------------------------
@app.command()
def screen(
    bundle: Annotated[list[Path] | None, typer.Option("--bundle", help="bundle(s) to ingest first")] = None,
    year: Annotated[int | None, typer.Option(help="only screen this reporting year")] = None,
) -> None:
    """Ingest → rules → detectors → scoring → cases, without Airflow."""
    from carbonqa.pipeline import screen_cli

    screen_cli(bundles=bundle or [], year=year)


# ---- cases (owner: carbonqa/cases) ----------------------------------------------------------------
@cases_app.command("export")
def cases_export(
    out: Annotated[Path, typer.Option("--out", help="file to write")],
    format: Annotated[str, typer.Option("--format", help="csv or xlsx")] = "csv",
    subject: Annotated[str, typer.Option("--subject", help="enterprise (default) or agency (机构案件)")] = "enterprise",
) -> None:
    """Write the case export exactly as CONTRACT.md §5 (one row per case, national rank order).

    ``--subject agency`` writes the agency cases instead (CONTRACT.md §5 "Agency cases", a separate file).
    """
    from carbonqa.store import upgrade

    if subject not in ("enterprise", "agency"):
        raise typer.BadParameter(f"--subject must be 'enterprise' or 'agency', got {subject!r}")
    upgrade()  # an unmigrated store gets its tables first (idempotent)
    if subject == "agency":
        from carbonqa.cases.agency import export_agency_cases

        n = export_agency_cases(out, fmt=format)
        typer.echo(f"{n} agency cases → {out}")
        return
    from carbonqa.cases import export_cases

    n = export_cases(out, fmt=format)
    typer.echo(f"{n} cases → {out}")


# ---- adapt (owner: carbonqa/adapters) -------------------------------------------------------------
@adapt_app.command("us")
def adapt_us(
    out: Annotated[Path, typer.Option("--out", help="bundle directory to write")],
    real_dir: Annotated[Path | None, typer.Option(help="folder of the real data files")] = None,
) -> None:
    """EIA-923 monthly fuel/generation + EPA AMPD CEMS (monthly telemetry) → contract bundle."""
    from carbonqa.adapters import adapt_us as run

    typer.echo(run(out, real_dir=real_dir))


@adapt_app.command("nger")
def adapt_nger(
    out: Annotated[Path, typer.Option("--out", help="bundle directory to write")],
    real_dir: Annotated[Path | None, typer.Option(help="folder of the real data files")] = None,
) -> None:
    """Australian NGER annual facility reports → contract bundle (annual reports)."""
    from carbonqa.adapters import adapt_nger as run

    typer.echo(run(out, real_dir=real_dir))


@adapt_app.command("gcpt")
def adapt_gcpt(
    out: Annotated[Path, typer.Option("--out", help="bundle directory to write")],
    real_dir: Annotated[Path | None, typer.Option(help="folder of the real data files")] = None,
) -> None:
    """GCPT registry of Chinese coal units → contract bundle (enterprises, units)."""
    from carbonqa.adapters import adapt_gcpt as run

    typer.echo(run(out, real_dir=real_dir))


# ---- users (owner: carbonqa/auth) -----------------------------------------------------------------
@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Argument()],
    role: Annotated[str, typer.Option(help="national | provincial | municipal | auditor")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    province: Annotated[str | None, typer.Option(help="GB/T 2260 code (provincial, municipal)")] = None,
    city: Annotated[str | None, typer.Option(help="city name (municipal)")] = None,
    display_name: Annotated[str, typer.Option()] = "",
) -> None:
    """Create a local user with a hashed password and a jurisdiction."""
    from carbonqa.auth import create_user
    from carbonqa.store import upgrade

    upgrade()
    user = create_user(username, password, role=role, province_code=province, city_name=city, display_name=display_name)
    typer.echo(f"created {user.username} ({user.role} {user.province_code or ''} {user.city_name or ''})")


@users_app.command("demo")
def users_demo(
    out: Annotated[Path | None, typer.Option(help="credentials file (default: $CARBONQA_HOME/demo_users.txt)")] = None,
) -> None:
    """Create one demo user per tier, scoped to the province and city with most cases; keep them across runs.

    Passwords are random (``secrets.token_urlsafe``, 16 characters, pass the password policy) and kept in
    the credentials file, written owner-only (0600). A later run keeps every demo user whose password
    in that file still matches the store; only new users, or users whose password was changed or whose
    file entry is gone, get a new one. For a local demo only.
    """
    import os
    import secrets

    import sqlalchemy as sa

    from carbonqa.auth import create_user, password_matches, set_password
    from carbonqa.settings import get_settings
    from carbonqa.store import session_scope, upgrade
    from carbonqa.store.models import Case, User

    upgrade()
    with session_scope() as s:
        top = s.execute(
            sa.select(Case.province_code, Case.city_name, sa.func.count())
            .where(Case.province_code.not_like("US-%"))
            .group_by(Case.province_code, Case.city_name)
            .order_by(sa.func.count().desc(), Case.province_code, Case.city_name)
            .limit(1)
        ).first()
        existing = {u.username for u in s.scalars(sa.select(User))}
    province, city = (top[0], top[1]) if top else ("15", "包头市")
    specs = [
        ("demo-national", "national", None, None, "国家级筛查员"),
        (f"demo-prov-{province}", "provincial", province, None, f"省级审核员 {province}"),
        (f"demo-city-{province}", "municipal", province, city, f"市级检查员 {city}"),
        ("demo-auditor", "auditor", None, None, "审计（只读）"),
    ]
    target = out or (get_settings().home / "demo_users.txt")
    known: dict[str, str] = {}
    if target.is_file():
        for line in target.read_text(encoding="utf-8").splitlines()[1:]:
            parts = line.split()
            if len(parts) >= 2:
                known[parts[0]] = parts[1]
    lines = []
    for username, role, prov, c, display in specs:
        pw = known.get(username)
        if username in existing and pw and password_matches(username, pw):
            pass  # kept from an earlier run
        elif username in existing:
            pw = secrets.token_urlsafe(12)
            set_password(username, pw)
        else:
            pw = secrets.token_urlsafe(12)
            create_user(username, pw, role=role, province_code=prov, city_name=c, display_name=display)
        lines.append(f"{username:24s} {pw:18s} {role:10s} {prov or '':4s} {c or ''}")
    text = "demo users (username, password, role, province, city):\n" + "\n".join(lines)
    typer.echo(text)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an older world-readable file keeps its mode on O_TRUNC: set it
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    typer.echo(f"credentials kept in {target} (owner-only)")


@users_app.command("unlock")
def users_unlock(username: Annotated[str, typer.Argument()]) -> None:
    """Lift a sign-in lockout (too many failed passwords) and reset the failure count."""
    from carbonqa.auth import UserError, unlock

    try:
        unlock(username)
    except UserError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"unlocked {username}")


@runs_app.command("last")
def runs_last() -> None:
    """Print the latest screening run: status, bundles, seconds per stage, findings, cases, chain head.

    What a person watching ``scripts/run.sh`` reads after the night (Airflow's own log goes to a file).
    Exits 1 when the run failed.
    """
    from carbonqa.jurisdiction import Scope
    from carbonqa.queries import chain_head, run_summary, runs
    from carbonqa.store import upgrade

    upgrade()
    df = runs(Scope("cli", "national", None, None), limit=1)
    if df.is_empty():
        typer.echo("no screening run yet")
        raise typer.Exit(1)
    import json

    r = df.row(0, named=True)

    def _obj(v: object) -> dict:
        return json.loads(v) if isinstance(v, str) else dict(v or {})

    s = run_summary(_obj(r["counts"]))
    stages = " · ".join(f"{k} {float(v):.1f} s" for k, v in _obj(r["stage_seconds"]).items())
    typer.echo(f"run {r['run_id']}: {r['status']}, {r['bundles']} bundle(s) ingested, "
               f"{(r['duration_s'] or 0):.0f} s ({stages})")
    cases = s["cases"]
    typer.echo(f"findings {s['findings']:,} ({s['new']:,} new) over {s['partitions']} partition(s); "
               f"cases {cases.get('cases', 0):,} ({cases.get('created', 0):,} new, {cases.get('rescored', 0):,} rescored)"
               + (f"; failed partitions: {', '.join(s['failed'])}" if s["failed"] else ""))
    head = chain_head()
    if head:
        typer.echo(f"tamper-evidence chain head {head['hash']} (check with: carbonqa verify)")
    if r["status"] == "failed":
        typer.echo(f"error: {r['error']}")
        raise typer.Exit(1)


@runs_app.command("watch")
def runs_watch(
    pid: Annotated[int | None, typer.Option(help="stop when this process (the night) exits")] = None,
    run_id: Annotated[str | None, typer.Option(help="watch this run (default: the next one to start)")] = None,
    lang: Annotated[str, typer.Option(help="zh | en")] = "zh",
) -> None:
    """Show the night's progress per stage (bundles, provinces screened, detectors, cases) while it runs.

    Reads the run row the stages write (:mod:`carbonqa.progress`), so it follows a night run by another
    process — ``scripts/nightly.sh`` starts Airflow in the background and watches it with this.
    """
    from carbonqa.progress import watch
    from carbonqa.store import upgrade

    upgrade()
    last = watch(pid=pid, run_id=run_id, lang=lang)
    if last is None:
        typer.echo("no screening run started")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
