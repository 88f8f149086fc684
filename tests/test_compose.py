"""docker-compose.yml and deploy/Dockerfile, checked for structure.

No Docker engine runs the tests, so this checks what can be checked without
one: the services of the production shape, their commands, healthchecks,
start order (depends_on conditions), volumes, and that the Dockerfile copies
files that exist and installs what the services run.
"""
import configparser
import re
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / 'docker-compose.yml'
TRYTOND_SERVICES = ['trytond-init', 'trytond', 'trytond-worker', 'trytond-cron']


@pytest.fixture(scope='module')
def compose():
    with open(COMPOSE) as file:
        return yaml.safe_load(file)


@pytest.fixture(scope='module')
def services(compose):
    return compose['services']


def command(service):
    value = service['command']
    return shlex.split(value) if isinstance(value, str) else list(value)


def test_services(services):
    assert set(services) == {'postgres', 'postgres-replica',
        *TRYTOND_SERVICES}
    # Only the replica is optional (docker compose --profile replica).
    assert [name for name, service in services.items()
        if 'profiles' in service] == ['postgres-replica']


def test_postgres(compose, services):
    postgres = services['postgres']
    assert re.fullmatch(r'postgres:1[5-9](\.\d+)?(-\w+)?', postgres['image'])
    volume, target = postgres['volumes'][0].split(':')[:2]
    assert target == '/var/lib/postgresql/data'
    assert volume in compose['volumes'], "data on a named volume"
    test = ' '.join(postgres['healthcheck']['test'])
    assert 'pg_isready' in test


def postgres_settings(service):
    "The -c name=value settings of a postgres command."
    args = command(service)
    return dict(args[i + 1].split('=', 1)
        for i, arg in enumerate(args) if arg == '-c')


def test_primary_for_replication(services):
    "The primary streams WAL to a standby, as a role of its init script"
    postgres = services['postgres']
    assert command(postgres)[0] == 'postgres'
    settings = postgres_settings(postgres)
    assert settings['wal_level'] in {'replica', 'logical'}
    assert int(settings['max_wal_senders']) >= 1
    environment = postgres['environment']
    assert environment['POSTGRES_REPLICATION_USER'] == 'replicator'
    # No secret in the file: from the environment, as POSTGRES_PASSWORD.
    assert re.fullmatch(r'\$\{POSTGRES_REPLICATION_PASSWORD(:-\w+)?\}',
        environment['POSTGRES_REPLICATION_PASSWORD'])
    scripts = [volume.split(':') for volume in postgres['volumes'][1:]]
    script, = [source for source, target, *_ in scripts
        if target.startswith('/docker-entrypoint-initdb.d/')]
    path = ROOT / script
    assert path.is_file() and path.stat().st_mode & 0o111, script
    text = path.read_text()
    assert 'WITH REPLICATION LOGIN' in text
    assert re.search(r'host replication \S+ all scram-sha-256', text)
    assert 'pg_hba.conf' in text


def test_replica(compose, services):
    "postgres-replica: a streaming standby of postgres, on the loopback"
    replica = services['postgres-replica']
    assert replica['profiles'] == ['replica']
    assert replica['image'] == services['postgres']['image']
    assert replica['depends_on']['postgres']['condition'] == (
        'service_healthy')
    script = ' '.join(command(replica))
    if replica.get('entrypoint'):
        script = ' '.join(replica['entrypoint']) + ' ' + script
    basebackup = re.search(r'pg_basebackup\b([^;&|]*)', script).group(1)
    assert '--host=postgres' in basebackup or '-h postgres' in basebackup
    assert '--write-recovery-conf' in basebackup or re.search(
        r'(^|\s)-R(\s|$)', basebackup), "a standby: recovery configured"
    assert '--username=replicator' in basebackup
    assert re.search(r'exec postgres\b.*hot_standby=on', script)
    # A shell variable is $$ in the file, or compose would replace it.
    assert '$PGDATA' not in script.replace('$$PGDATA', '')
    environment = replica['environment']
    assert re.fullmatch(r'\$\{POSTGRES_REPLICATION_PASSWORD(:-\w+)?\}',
        environment['PGPASSWORD'])
    assert environment['PGPASSWORD'] == (
        services['postgres']['environment']['POSTGRES_REPLICATION_PASSWORD'])
    volume, target = replica['volumes'][0].split(':')[:2]
    assert volume in compose['volumes'] and volume != (
        services['postgres']['volumes'][0].split(':')[0])
    assert environment['PGDATA'].startswith(target + '/')
    assert replica['ports'] and all(
        str(port).startswith('127.0.0.1:') for port in replica['ports']), (
        "published on the loopback only")
    assert 'pg_isready' in ' '.join(replica['healthcheck']['test'])


def test_trytond_services_share_one_image(services):
    builds = {str(services[name].get('build')) for name in TRYTOND_SERVICES}
    images = {services[name].get('image') for name in TRYTOND_SERVICES}
    assert len(builds) == 1 and len(images) == 1
    build = services['trytond']['build']
    assert (ROOT / build['context'] / build['dockerfile']).is_file()


def test_start_order(services):
    for name in TRYTOND_SERVICES:
        depends = services[name]['depends_on']
        assert depends['postgres']['condition'] == 'service_healthy', name
    for name in ['trytond', 'trytond-worker', 'trytond-cron']:
        depends = services[name]['depends_on']
        assert depends['trytond-init']['condition'] == (
            'service_completed_successfully'), name
    assert services['trytond-init']['restart'] == 'no'


def test_web_server(services):
    web = services['trytond']
    args = command(web)
    assert args[0] == 'gunicorn' and args[-1] == 'trytond.application:app'
    workers = args[args.index('--workers') + 1]
    default = re.fullmatch(r'\$\{\w+:-(\d+)\}', workers)
    assert int(default.group(1) if default else workers) >= 2
    assert web['ports'] and all(
        str(port).startswith('127.0.0.1:') for port in web['ports']), (
        "published on the loopback only: a reverse proxy does TLS")
    test = ' '.join(web['healthcheck']['test'])
    assert 'http://127.0.0.1:8000/' in test
    # The pool is loaded at start-up (trytond 8.0.12 login bug).
    assert web['environment']['TRYTOND_DATABASE_NAMES'] == 'spp'


def test_worker_and_cron(services):
    # The tasks of a killed worker go back to the queue before the worker
    # starts (tools/sppdb.py requeue; the Dockerfile copies tools/).
    shell, option, script = command(services['trytond-worker'])
    assert (shell, option) == ('sh', '-c')
    requeue, worker = script.split(' && ')
    assert shlex.split(requeue) == ['python', '/opt/spp/tools/sppdb.py',
        '-c', '/etc/trytond.conf', 'requeue', 'spp']
    assert shlex.split(worker) == ['exec', 'trytond-worker', '-d', 'spp']
    dockerfile = (ROOT / 'deploy' / 'Dockerfile').read_text()
    assert re.search(r'^WORKDIR /opt/spp$', dockerfile, re.M)
    assert re.search(r'^COPY tools tools$', dockerfile, re.M)
    assert command(services['trytond-cron'])[:3] == [
        'trytond-cron', '-d', 'spp']


def test_database_uri_and_volumes(compose, services):
    for name in TRYTOND_SERVICES:
        service = services[name]
        uri = service['environment']['TRYTOND_DATABASE__URI']
        assert uri.startswith('postgresql://') and '@postgres:5432/' in uri
        for volume in service.get('volumes', []):
            assert volume.split(':')[0] in compose['volumes']


def test_queue_worker_enabled():
    "The image's configuration sends ir.queue tasks to trytond-worker."
    dockerfile = (ROOT / 'deploy' / 'Dockerfile').read_text()
    source = re.search(
        r'^COPY (\S+) /etc/trytond\.conf$', dockerfile, re.M).group(1)
    config = configparser.ConfigParser()
    config.read(ROOT / source)
    assert config.getboolean('queue', 'worker')


def test_dockerfile():
    dockerfile = (ROOT / 'deploy' / 'Dockerfile').read_text()
    stages = re.findall(r'^FROM (\S+)', dockerfile, re.M)
    assert stages[-1] == 'python:3.11-slim'
    assert 'npm pack tryton-sao@8.0' in dockerfile
    assert 'npm install --omit=dev --legacy-peer-deps' in dockerfile
    assert 'pip install -r requirements.txt' in dockerfile
    assert re.search(r'pip install --no-deps \.', dockerfile)
    assert 'TRYTOND_WEB__ROOT=/opt/sao' in dockerfile
    assert re.search(r'^USER (?!root)\w+', dockerfile, re.M), "not root"
    for line in re.findall(r'^COPY (?!--from)(.+)$', dockerfile, re.M):
        *sources, _ = line.split()
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: missing"
    # Everything it copies passes its .dockerignore.
    ignore = (ROOT / 'deploy' / 'Dockerfile.dockerignore').read_text()
    allowed = re.findall(r'^!(\S+)', ignore, re.M)
    for line in re.findall(r'^COPY (?!--from)(.+)$', dockerfile, re.M):
        *sources, _ = line.split()
        for source in sources:
            assert source.rstrip('/') in allowed, f"{source} is ignored"
    init = (ROOT / 'deploy' / 'init-database.sh')
    assert init.stat().st_mode & 0o111, "init-database.sh is executable"
