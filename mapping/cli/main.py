"""The ``mapping`` command: a thin shell over the package, one sub-command per job.

This module holds the group and the set-up commands (the store, users, serving); the
other commands live beside it, one module per group (:mod:`mapping.cli.imports`,
:mod:`mapping.cli.gaps`, :mod:`mapping.cli.lots`, :mod:`mapping.cli.spend`), and are added
to :func:`main` here, so no command module imports this one.
"""

from __future__ import annotations

from pathlib import Path

import click

from mapping.cli import boroughs, gaps, imports, lots, openreferral, spend
from mapping.cli._common import Context, handles_errors, pass_context
from mapping.config import load_settings


@click.group()
@click.option("--database-url", envvar="MAPPING_DATABASE_URL", default=None,
              help="SQLAlchemy URL of the store (default: SQLite in the instance folder).")
@click.option("--data-dir", envvar="MAPPING_DATA_DIR", default=None,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder of the shared open data (default: ../shared/data).")
@click.pass_context
def main(ctx: click.Context, database_url: str | None, data_dir: Path | None) -> None:
    """Community asset and provision-gap mapping."""
    given = {"database_url": database_url, "data_dir": data_dir}
    ctx.obj = Context(load_settings(given), given)


@main.command("init-db")
@pass_context
@handles_errors
def init_db(context: Context) -> None:
    """Create the database, or bring its schema up to date."""
    revision = context.store.upgrade()
    click.echo(f"Database ready at schema revision {revision}: {context.store.url}")


@main.command("migrate")
@pass_context
@handles_errors
def migrate(context: Context) -> None:
    """Apply any schema migrations this version brings (Alembic upgrade to head)."""
    before = context.store.current_revision()
    after = context.store.upgrade()
    click.echo(f"Schema revision {before or 'none'} -> {after}")


@main.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(["viewer", "officer", "admin"]), required=True)
@click.password_option(envvar="MAPPING_NEW_USER_PASSWORD",
                       help="Password (prompted if not given; or MAPPING_NEW_USER_PASSWORD).")
@pass_context
@handles_errors
def create_user_cmd(context: Context, username: str, role: str, password: str) -> None:
    """Create a user who can sign in (or reset their password and role)."""
    from mapping.register.users import create_user

    with context.ready_store().transaction() as session:
        create_user(session, username, password, role=role)
    click.echo(f"User '{username}' can now sign in as {role}")


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--dev", is_flag=True, help="Use Flask's debug server instead of waitress.")
@pass_context
@handles_errors
def serve_cmd(context: Context, host: str, port: int, dev: bool) -> None:
    """Serve the web app (waitress, a production WSGI server; --dev for Flask's)."""
    from web import create_app

    # The instance file applies too: only what was given on the command line is passed.
    app = create_app({k.upper(): str(v) for k, v in context.overrides.items()})
    context.ready_store()
    click.echo(f"Serving on http://{host}:{port}/ (Ctrl+C to stop)")
    if dev:
        app.run(host=host, port=port, debug=True)
    else:
        from waitress import serve

        serve(app, host=host, port=port, threads=8)


for _module in (boroughs, imports, gaps, lots, spend, openreferral):
    for _command in _module.COMMANDS:
        main.add_command(_command)
