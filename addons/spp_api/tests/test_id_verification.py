"""ID verification against a small fake national ID system on 127.0.0.1:
match, mismatch, unknown, timeout, refused token, bad mapping, queue."""
import json
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from stdnum import luhn

from trytond.model.exceptions import AccessError, ValidationError
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction, check_access

TOKEN = 'Bearer fake-id-system-token'


def national_id(seed):
    body = f'{seed:09d}'[-9:]
    return body + luhn.calc_check_digit(body)


# The fake ID system's people: number -> (last name, date of birth).
PEOPLE = {national_id(1): ('Dias', '1950-01-02'),
    national_id(2): ('Santos', '1970-05-06')}
SLOW = national_id(3)


class FakeIdSystem(BaseHTTPRequestHandler):
    "Answers like a national ID system, with the mapped field names."
    requests = []

    def do_POST(self):
        body = json.loads(self.rfile.read(
                int(self.headers['Content-Length'])))
        FakeIdSystem.requests.append(body)
        if self.headers.get('Authorization') != TOKEN:
            return self.answer(401, {'error': 'unauthorized'})
        number = body.get('nin')
        if number == SLOW:
            time.sleep(1.5)
            return self.answer(200, {'result': 'match'})
        if number not in PEOPLE:
            return self.answer(404, {'error': 'not found'})
        last_name, born = PEOPLE[number]
        if (body.get('surname'), body.get('dob')) == (last_name, born):
            return self.answer(200, {'result': 'match', 'note': 'OK'})
        return self.answer(200, {'result': 'mismatch',
                'note': 'name or birth date differ'})

    def answer(self, status, body):
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (the timeout case)

    def log_message(self, *args):
        pass


class IdVerificationTestCase(unittest.TestCase):
    "Test ID verification"

    @classmethod
    def setUpClass(cls):
        activate_module('spp_api')
        cls.server = ThreadingHTTPServer(('127.0.0.1', 0), FakeIdSystem)
        cls.thread = threading.Thread(target=cls.server.serve_forever,
            daemon=True)
        cls.thread.start()
        cls.url = f'http://127.0.0.1:{cls.server.server_port}/verify'

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def configure(self, **values):
        Configuration = Pool().get('spp.id_verification.configuration')
        configuration = Configuration(1)
        configuration.url = self.url
        configuration.auth_header = TOKEN
        configuration.field_mapping = json.dumps({'id_number': 'nin',
                'family_name': 'surname', 'birth_date': 'dob'})
        configuration.status_key = 'result'
        configuration.message_key = 'note'
        configuration.read_timeout = 0.5
        for name, value in values.items():
            setattr(configuration, name, value)
        configuration.save()
        return configuration

    def individual(self, family_name, birth_date, seed):
        Party = Pool().get('party.party')
        party, = Party.create([{'registrant_type': 'individual',
                    'family_name': family_name, 'given_name': "Test",
                    'birth_date': birth_date,
                    'identifiers': [('create', [{'type': 'national_id',
                                    'code': national_id(seed)}])]}])
        return party.identifiers[0]

    @with_transaction()
    def test_verify_outcomes(self):
        "Match, mismatch, unknown and timeout are stored on the identifier"
        import datetime as dt
        Identifier = Pool().get('party.identifier')
        self.configure()
        match = self.individual("Dias", dt.date(1950, 1, 2), 1)
        mismatch = self.individual("Santos", dt.date(1971, 5, 6), 2)
        slow = self.individual("Slow", dt.date(1980, 1, 1), 3)
        unknown = self.individual("Nobody", dt.date(1990, 1, 1), 4)
        FakeIdSystem.requests.clear()
        Identifier.verify([match, mismatch, slow, unknown])
        results = {i.id: (i.verification_status, i.verification_message)
            for i in Identifier.browse([match, mismatch, slow, unknown])}
        self.assertEqual(results[match.id], ('match', 'OK'))
        self.assertEqual(results[mismatch.id],
            ('mismatch', 'name or birth date differ'))
        self.assertEqual(results[unknown.id][0], 'unknown')
        self.assertEqual(results[slow.id][0], 'error')
        self.assertIn('in time', results[slow.id][1])
        self.assertTrue(Identifier(match.id).verified_at)
        # Only the mapped fields, under the ID system's names, are sent.
        self.assertEqual(FakeIdSystem.requests[0], {'nin': national_id(1),
                'surname': 'Dias', 'dob': '1950-01-02'})

    @with_transaction()
    def test_refused_token_and_unreachable(self):
        "A refused token or a closed port is an error, not an exception"
        import datetime as dt
        Identifier = Pool().get('party.identifier')
        identifier = self.individual("Dias", dt.date(1950, 1, 2), 1)
        self.configure(auth_header='Bearer wrong')
        Identifier.verify([identifier])
        self.assertEqual(identifier.verification_status, 'error')
        self.assertIn('401', identifier.verification_message)
        self.configure(url='http://127.0.0.1:9/verify')
        Identifier.verify([identifier])
        self.assertEqual(Identifier(identifier.id).verification_status,
            'error')
        self.assertIn('unreachable',
            Identifier(identifier.id).verification_message)

    @with_transaction()
    def test_verify_as_caseworker(self):
        "A registry administrator verifies without seeing the token"
        import datetime as dt
        pool = Pool()
        Identifier = pool.get('party.identifier')
        Configuration = pool.get('spp.id_verification.configuration')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        self.configure()
        identifier = self.individual("Dias", dt.date(1950, 1, 2), 1)
        user, = User.create([{'login': 'caseworker', 'name': "Caseworker",
                    'groups': [('add', [ModelData.get_id(
                                    'spp_registry', 'group_registry_admin')])],
                    }])
        with Transaction().set_user(user.id), check_access():
            with self.assertRaises(AccessError):
                Configuration.read([1], ['auth_header'])
            Identifier.verify([Identifier(identifier.id)])
        self.assertEqual(Identifier(identifier.id).verification_status,
            'match')

    @with_transaction()
    def test_configuration_checked(self):
        "No URL or a bad field mapping is refused with a clear message"
        import datetime as dt
        Identifier = Pool().get('party.identifier')
        identifier = self.individual("Dias", dt.date(1950, 1, 2), 1)
        with self.assertRaisesRegex(ValidationError, 'not configured'):
            Identifier.verify([identifier])
        for mapping in ['not json', '["nin"]', '{"salary": "x"}',
                '{"family_name": "surname"}']:
            with self.assertRaisesRegex(ValidationError, 'field mapping'):
                self.configure(field_mapping=mapping)

    @with_transaction()
    def test_verify_later_queues(self):
        "Bulk verification is queued in chunks and gives the same result"
        import datetime as dt
        pool = Pool()
        Identifier = pool.get('party.identifier')
        Queue = pool.get('ir.queue')
        self.configure()
        identifiers = [self.individual("Dias", dt.date(1950, 1, 2), 1),
            self.individual("Nobody", dt.date(1990, 1, 1), 5)]
        self.assertEqual(Identifier.verify_unverified(), 2)
        tasks = Queue.search([('name', '=', 'spp_id_verification')])
        self.assertEqual(len(tasks), 1)
        self.assertEqual(
            [i.verification_status for i in Identifier.browse(identifiers)],
            [None, None])
        tasks[0].run()
        self.assertEqual(
            [i.verification_status for i in Identifier.browse(identifiers)],
            ['match', 'unknown'])
        # Verified identifiers are not queued again.
        self.assertEqual(Identifier.verify_unverified(), 0)
        Transaction().tasks.clear()

    @with_transaction()
    def test_cron_verifies_pending_in_batches(self):
        "The cron job queues pending IDs in batches, once, oldest first"
        import datetime as dt
        pool = Pool()
        Identifier = pool.get('party.identifier')
        Queue = pool.get('ir.queue')
        Cron = pool.get('ir.cron')
        cron, = Cron.search(
            [('method', '=', 'party.identifier|verify_pending')])
        # Not configured: the job does nothing, and does not fail.
        self.individual("Dias", dt.date(1950, 1, 2), 1)
        Cron.run_once([cron])
        self.assertEqual(Queue.search([]), [])

        self.configure()
        match, = Identifier.search([])
        unknown = self.individual("Nobody", dt.date(1990, 1, 1), 5)
        slow = self.individual("Slow", dt.date(1980, 1, 1), 3)
        done = self.individual("Santos", dt.date(1970, 5, 6), 2)
        Identifier.write([done], {'verification_status': 'match'})
        self.assertEqual(Identifier.verify_pending(batch_size=2), 3)
        tasks = Queue.search([('name', '=', 'spp_id_verification')],
            order=[('id', 'ASC')])
        self.assertEqual([len(t.data['instances']) for t in tasks], [2, 1])
        # While they wait, a run queues nothing more.
        Cron.run_once([cron])
        self.assertEqual(Identifier.verify_pending(), 0)
        self.assertEqual(len(Queue.search([])), 2)
        for task in tasks:
            task.run()
        statuses = {i.id: i.verification_status
            for i in Identifier.browse([match, unknown, slow, done])}
        self.assertEqual(statuses, {match.id: 'match',
                unknown.id: 'unknown', slow.id: 'error', done.id: 'match'})

        # A recent failure waits; an old one is tried again.
        self.assertEqual(Identifier.verify_pending(), 0)
        Identifier.write([Identifier(slow.id)], {
                'verified_at': dt.datetime.now() - dt.timedelta(hours=2)})
        Cron.run_once([cron])
        task, = Queue.search([('finished_at', '=', None)])
        self.assertEqual(list(task.data['instances']), [slow.id])
        Transaction().tasks.clear()
