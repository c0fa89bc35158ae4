#!/usr/bin/python3
"""Drives a Tribune agent with Debian's python3-consul (python-consul 0.7.1).

Usage: python_client.py <http-port> <agent|health>

Prints OK on success; exits non-zero with a reason otherwise. Run with /usr/bin/python3 (the
default python3 on the test machines does not see Debian's modules).
"""

import sys
import threading
import time

import consul
from consul.base import CB, BadRequest


def check(cond, msg):
    if not cond:
        raise SystemExit('FAIL: ' + msg)


def agent_mode(c):
    me = c.agent.self()
    check(me['Config']['NodeName'] == 'test-node', 'self NodeName: %r' % me['Config'])
    check(me['Member']['Tags']['role'] == 'consul', 'self Member role')
    members = c.agent.members()
    check([m['Name'] for m in members] == ['test-node'], 'members: %r' % members)

    ok = c.agent.service.register(
        'pyweb', service_id='pyweb-1', address='10.1.2.3', port=8080,
        tags=['py', 'v1'], check=consul.Check.ttl('30s'))
    check(ok is True, 'register pyweb')
    ok = c.agent.service.register('pyapi', port=9090, tags=['py'], enable_tag_override=True)
    check(ok is True, 'register pyapi')

    services = c.agent.services()
    check(sorted(services) == ['pyapi', 'pyweb-1'], 'services: %r' % services)
    s = services['pyweb-1']
    check(s['Service'] == 'pyweb' and s['Port'] == 8080 and s['Tags'] == ['py', 'v1'], 'pyweb: %r' % s)
    check(s['TaggedAddresses']['lan_ipv4'] == {'Address': '10.1.2.3', 'Port': 8080}, 'tagged: %r' % s)
    check(services['pyapi']['EnableTagOverride'] is True, 'pyapi eto: %r' % services['pyapi'])

    checks = c.agent.checks()
    ch = checks['service:pyweb-1']
    check(ch['Status'] == 'critical' and ch['Type'] == 'ttl' and ch['Name'] == "Service 'pyweb' check", 'check: %r' % ch)

    # python-consul 0.7.1 sends GET for the TTL and deregister calls; Consul 1.10 only takes PUT
    # there and answers 405, which the client reports as False.
    check(c.agent.check.ttl_pass('service:pyweb-1') is False, 'GET ttl_pass must not succeed')
    check(c.http.put(CB.bool(), '/v1/agent/check/pass/service:pyweb-1', params={'note': 'py ok'}) is True, 'PUT pass')
    ch = c.agent.checks()['service:pyweb-1']
    check(ch['Status'] == 'passing' and ch['Output'] == 'py ok', 'after pass: %r' % ch)

    # A node-level check registered with the client's lowercase keys ('serviceid' etc.).
    ok = c.agent.check.register('py node check', check_id='py-node', check=consul.Check.ttl('10s'), notes='from python')
    check(ok is True, 'check register')
    ok = c.agent.check.register('py svc check', check_id='py-svc', check=consul.Check.ttl('10s'), service_id='pyapi')
    check(ok is True, 'service check register')
    checks = c.agent.checks()
    check(checks['py-node']['Notes'] == 'from python' and checks['py-node']['ServiceID'] == '', 'py-node: %r' % checks['py-node'])
    check(checks['py-svc']['ServiceName'] == 'pyapi', 'py-svc: %r' % checks['py-svc'])

    # Filtering (?filter) through the client's raw HTTP helper.
    got = c.http.get(CB.json(), '/v1/agent/services', params={'filter': 'Service == "pyweb"'})
    check(list(got) == ['pyweb-1'], 'filtered services: %r' % got)
    got = c.http.get(CB.json(), '/v1/agent/services', params={'filter': '"v1" in Tags'})
    check(list(got) == ['pyweb-1'], 'filtered by tag: %r' % got)
    got = c.http.get(CB.json(), '/v1/agent/checks', params={'filter': 'Status == "passing"'})
    check(list(got) == ['service:pyweb-1'], 'filtered checks: %r' % got)
    try:
        c.http.get(CB.json(), '/v1/agent/services', params={'filter': 'Nope == 1'})
        check(False, 'a bad filter must fail')
    except consul.ConsulException as e:
        check('Failed to create boolean expression evaluator' in str(e), 'bad filter: %s' % e)

    # Refusals surface as the client's exceptions.
    try:
        c.agent.service.register('broken', check={'interval': '10s'})
        check(False, 'an invalid check must be refused')
    except BadRequest as e:
        check('Invalid check: TTL must be > 0 for TTL checks' in str(e), 'bad check: %s' % e)

    # Maintenance (PUT in this client).
    check(c.agent.service.maintenance('pyweb-1', 'true', 'py maint') is True, 'service maint on')
    check(c.agent.checks()['_service_maintenance:pyweb-1']['Notes'] == 'py maint', 'maint check')
    check(c.agent.service.maintenance('pyweb-1', 'false') is True, 'service maint off')
    check(c.agent.maintenance('true', 'node maint') is True, 'node maint on')
    check(c.agent.checks()['_node_maintenance']['Status'] == 'critical', 'node maint check')
    check(c.agent.maintenance('false') is True, 'node maint off')
    check('_node_maintenance' not in c.agent.checks(), 'node maint removed')

    # Deregistration: GET (this client) is 405, PUT removes it.
    check(c.agent.service.deregister('pyapi') is False, 'GET deregister must not succeed')
    check(c.http.put(CB.bool(), '/v1/agent/service/deregister/pyapi') is True, 'PUT deregister')
    services = c.agent.services()
    check(sorted(services) == ['pyweb-1'], 'after deregister: %r' % services)
    check('py-svc' not in c.agent.checks(), 'service checks go with the service')


def health_mode(c):
    ok = c.agent.service.register('pyhealth', service_id='pyhealth-1', port=7000, check=consul.Check.ttl('30s'))
    check(ok is True, 'register pyhealth')
    index, nodes = c.health.service('pyhealth', passing=True)
    check(nodes == [], 'not passing yet: %r' % nodes)
    index_all, all_nodes = c.health.service('pyhealth')
    check(len(all_nodes) == 1 and all_nodes[0]['Service']['ID'] == 'pyhealth-1', 'health all: %r' % all_nodes)
    check(any(x['CheckID'] == 'serfHealth' for x in all_nodes[0]['Checks']), 'serfHealth in checks')

    result = {}

    def watch():
        result['r'] = c.health.service('pyhealth', index=index, wait='20s', passing=True)

    t = threading.Thread(target=watch)
    t.start()
    time.sleep(0.3)
    check(t.is_alive(), 'the watch must block')
    check(c.http.put(CB.bool(), '/v1/agent/check/pass/service:pyhealth-1') is True, 'PUT pass')
    t.join(25)
    check('r' in result, 'the watch must return')
    idx2, nodes2 = result['r']
    check(int(idx2) > int(index), 'index moved: %s -> %s' % (index, idx2))
    check(len(nodes2) == 1 and nodes2[0]['Service']['ID'] == 'pyhealth-1', 'passing now: %r' % nodes2)

    idx, cat = c.catalog.service('pyhealth')
    check(len(cat) == 1 and cat[0]['ServicePort'] == 7000, 'catalog: %r' % cat)

    check(c.http.put(CB.bool(), '/v1/agent/check/fail/service:pyhealth-1', params={'note': 'down'}) is True, 'PUT fail')
    _, nodes3 = c.health.service('pyhealth', passing=True)
    check(nodes3 == [], 'critical is filtered: %r' % nodes3)


def main():
    port = int(sys.argv[1])
    mode = sys.argv[2]
    c = consul.Consul(host='127.0.0.1', port=port)
    if mode == 'agent':
        agent_mode(c)
    elif mode == 'health':
        health_mode(c)
    else:
        raise SystemExit('unknown mode ' + mode)
    print('OK')


if __name__ == '__main__':
    main()
