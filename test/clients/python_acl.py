#!/usr/bin/python3
"""Drives a Tribune agent's ACLs with Debian's python3-consul (python-consul 0.7.1), whose acl API
is the legacy one: create / info / list / update / clone / destroy.

Usage: python_acl.py <http-port> <management-token>

Prints OK on success; exits non-zero with a reason otherwise.
"""

import sys

import consul


def check(cond, msg):
    if not cond:
        raise SystemExit('FAIL: ' + msg)


def denied(fn, what):
    try:
        fn()
    except consul.ACLPermissionDenied:
        return
    raise SystemExit('FAIL: %s was not refused with ACLPermissionDenied' % what)


def main():
    port, master = int(sys.argv[1]), sys.argv[2]
    c = consul.Consul(port=port, token=master)

    rules = 'key "" { policy = "read" }\nkey "secret/" { policy = "deny" }\n'
    tid = c.acl.create(name='py-client', type='client', rules=rules)
    check(isinstance(tid, str) and len(tid) == 36, 'create: %r' % tid)
    info = c.acl.info(tid)
    check(info['ID'] == tid and info['Name'] == 'py-client' and info['Type'] == 'client', 'info: %r' % info)
    check(info['Rules'] == rules, 'info rules: %r' % info['Rules'])
    check(tid in [t['ID'] for t in c.acl.list()], 'list lacks the token')
    check(c.acl.update(tid, name='py-client-2', rules=rules) == tid, 'update')
    check(c.acl.info(tid)['Name'] == 'py-client-2', 'name after update')

    check(c.kv.put('public/x', '1') is True, 'put public/x')
    check(c.kv.put('secret/y', '2') is True, 'put secret/y')

    client = consul.Consul(port=port, token=tid)
    _, item = client.kv.get('public/x')
    check(item is not None and item['Value'] == b'1', 'client read public/x: %r' % (item,))
    denied(lambda: client.kv.get('secret/y'), 'kv get secret/y')
    denied(lambda: client.kv.put('public/x', '3'), 'kv put public/x')
    denied(lambda: client.acl.list(), 'acl list with a client token')

    copy = c.acl.clone(tid)
    check(copy and copy != tid, 'clone: %r' % copy)
    check(c.acl.info(copy)['Rules'] == rules, 'clone rules')
    check(c.acl.destroy(copy) is True, 'destroy')
    check(c.acl.info(copy) is None, 'info after destroy')
    print('OK')


if __name__ == '__main__':
    main()
