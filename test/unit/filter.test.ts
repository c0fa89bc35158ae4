// Consul's ?filter= language: go-bexpr v0.1.2 as Consul 1.10 vendors it. Expected behaviour and
// error texts come from go-bexpr's own sources and tests at that tag (grammar.peg, grammar_test.go,
// validate.go, evaluate.go, field_config.go, coerce.go), plus Consul's documented error for an
// unsupported operator.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  FilterError,
  type Schema,
  agentServiceSchema,
  checkServiceNodeSchema,
  compileFilter,
  filterList,
  filterRecord,
  healthCheckSchema,
  nodeSchema,
  nodeServiceSchema,
  parseExpression,
  serviceNodeSchema,
} from '../../src/filter/index.js';

// ---- fixtures, shaped like Consul's JSON ----

const node1 = {
  ID: '8a5b6f1e-0000-4000-8000-000000000001',
  Node: 'node1',
  Address: '10.0.0.1',
  Datacenter: 'dc1',
  TaggedAddresses: { lan: '10.0.0.1', wan: '198.51.100.1' },
  Meta: { env: 'prod', 'rack id': 'r1', 'åß∂': 'unicode' },
};

const webService = {
  Kind: '',
  ID: 'web-1',
  Service: 'web',
  Tags: ['primary', 'v1'],
  Meta: { version: '1.2' },
  Port: 8080,
  Address: '',
  SocketPath: '',
  TaggedAddresses: { lan: { Address: '10.0.0.1', Port: 8080 } },
  Weights: { Passing: 3, Warning: 1 },
  EnableTagOverride: false,
  Proxy: {
    DestinationServiceName: '',
    Upstreams: [],
    Expose: { Checks: false, Paths: [] },
  },
  Connect: { Native: true },
};

const proxyService = {
  Kind: 'connect-proxy',
  ID: 'web-1-sidecar-proxy',
  Service: 'web-sidecar-proxy',
  Tags: null,
  Meta: null,
  Port: 21000,
  Weights: { Passing: 1, Warning: 1 },
  EnableTagOverride: true,
  Proxy: {
    DestinationServiceName: 'web',
    DestinationServiceID: 'web-1',
    LocalServicePort: 8080,
    Mode: 'transparent',
    TransparentProxy: { OutboundListenerPort: 15001, DialedDirectly: true },
    Upstreams: [
      { DestinationType: 'service', DestinationName: 'db', LocalBindPort: 9191, MeshGateway: { Mode: 'local' } },
      { DestinationType: 'prepared_query', DestinationName: 'cache', LocalBindPort: 9192, MeshGateway: { Mode: '' } },
    ],
    MeshGateway: { Mode: 'remote' },
    Expose: { Checks: true, Paths: [{ ListenerPort: 21500, Path: '/health', LocalPathPort: 8080, Protocol: 'http' }] },
  },
  Connect: { Native: false },
};

const serfCheck = {
  Node: 'node1',
  CheckID: 'serfHealth',
  Name: 'Serf Health Status',
  Status: 'passing',
  Notes: '',
  Output: 'Agent alive and reachable',
  ServiceID: '',
  ServiceName: '',
  ServiceTags: [],
  Type: '',
  Interval: '',
  Timeout: '',
  ExposedPort: 0,
};

const webCheck = {
  Node: 'node1',
  CheckID: 'service:web-1',
  Name: 'web check',
  Status: 'critical',
  Notes: '',
  Output: 'HTTP GET http://10.0.0.1:8080/health: 500',
  ServiceID: 'web-1',
  ServiceName: 'web',
  ServiceTags: ['primary', 'v1'],
  Type: 'http',
  Interval: '10s',
  Timeout: '1s',
  ExposedPort: 21500,
};

const csnWeb = { Node: node1, Service: webService, Checks: [serfCheck, webCheck] };
const csnProxy = { Node: { ...node1, Node: 'node2', Meta: {} }, Service: proxyService, Checks: [] };

/** Compiles against the CheckServiceNode schema (the richest one) unless told otherwise. */
function matches(expr: string, value: unknown, schema: Schema = checkServiceNodeSchema): boolean {
  return compileFilter(expr, schema).matches(value);
}

/** Asserts that compiling throws a FilterError with exactly this message. */
function rejects(expr: string, message: string, schema: Schema = checkServiceNodeSchema): void {
  assert.throws(
    () => compileFilter(expr, schema),
    (e: unknown) => {
      assert.ok(e instanceof FilterError, `expected a FilterError for ${expr}`);
      assert.equal(e.message, message, expr);
      return true;
    },
  );
}

// ---- tests ----

describe('go-bexpr filter: match operators', () => {
  it('== and != on strings are exact and case-sensitive', () => {
    assert.equal(matches('Service.Service == web', csnWeb), true);
    assert.equal(matches('Service.Service == Web', csnWeb), false);
    assert.equal(matches('Service.Service != web', csnWeb), false);
    assert.equal(matches('Service.Service != api', csnWeb), true);
    assert.equal(matches('Service.Service==web', csnWeb), true, 'whitespace around == is optional');
    assert.equal(matches('Service.Address == ""', csnWeb), true, 'empty string literal');
  });

  it('accepts double-quoted (with Go escapes), backquoted and unquoted values', () => {
    assert.equal(matches('Service.Service == "web"', csnWeb), true);
    assert.equal(matches('Service.Service == "w\\x65\\u0062"', csnWeb), true, 'Go escapes in "..."');
    assert.equal(matches('Service.Service == `web`', csnWeb), true);
    assert.equal(matches('Output == `a\\nb`', { Output: 'a\\nb' }, healthCheckSchema), true, 'backquotes are raw');
    assert.equal(matches('Output == "a\\nb"', { Output: 'a\nb' }, healthCheckSchema), true);
    // An unquoted value may be a number literal or even a dotted selector: the raw text is used.
    assert.equal(matches('Service.Meta.version == 1.2', csnWeb), true);
    assert.equal(matches('Name == foo.bar', { Name: 'foo.bar' }, healthCheckSchema), true);
    assert.equal(matches('Name == foo["x y"]', { Name: 'foo.x y' }, healthCheckSchema), true);
    assert.equal(matches('Name == and', { Name: 'and' }, healthCheckSchema), true, 'keywords are plain values');
  });

  it('coerces values for int fields with strconv.ParseInt(s, 0, 64)', () => {
    assert.equal(matches('Service.Port == 8080', csnWeb), true);
    assert.equal(matches('Service.Port == "8080"', csnWeb), true);
    assert.equal(matches('Service.Port == "0x1F90"', csnWeb), true, 'base prefix accepted');
    assert.equal(matches('Service.Port == "0o17620"', csnWeb), true);
    assert.equal(matches('Service.Port != 8081', csnWeb), true);
    assert.equal(matches('Service.Weights.Passing == 3', csnWeb), true);
    assert.equal(matches('ExposedPort == -1', { ExposedPort: -1 }, healthCheckSchema), true);
    assert.equal(matches('ExposedPort == 0', {}, healthCheckSchema), true, 'absent reads as the zero value');
  });

  it('coerces values for bool fields with strconv.ParseBool', () => {
    assert.equal(matches('Service.Connect.Native == true', csnWeb), true);
    assert.equal(matches('Service.Connect.Native == false', csnWeb), false);
    assert.equal(matches('Service.EnableTagOverride == false', csnWeb), true);
    assert.equal(matches('Service.EnableTagOverride != T', csnWeb), true);
    assert.equal(matches('Service.EnableTagOverride == 1', csnProxy), true);
    assert.equal(matches('Service.Proxy.TransparentProxy.DialedDirectly == TRUE', csnProxy), true);
  });

  it('in / contains: elements of a []string, keys of a map, substrings of a string', () => {
    // slice of strings
    assert.equal(matches('primary in Service.Tags', csnWeb), true);
    assert.equal(matches('"v1" in Service.Tags', csnWeb), true);
    assert.equal(matches('Service.Tags contains v1', csnWeb), true);
    assert.equal(matches('Service.Tags contains v', csnWeb), false, 'whole elements, not substrings');
    assert.equal(matches('v2 not in Service.Tags', csnWeb), true);
    assert.equal(matches('Service.Tags not contains primary', csnWeb), false);
    assert.equal(matches('primary in Service.Tags', csnProxy), false, 'null slice has no elements');
    // map keys
    assert.equal(matches('env in Node.Meta', csnWeb), true);
    assert.equal(matches('prod in Node.Meta', csnWeb), false, 'keys, not values');
    assert.equal(matches('"rack id" in Node.Meta', csnWeb), true);
    assert.equal(matches('Node.TaggedAddresses contains wan', csnWeb), true);
    assert.equal(matches('lan in Service.TaggedAddresses', csnWeb), true, 'map of structs');
    assert.equal(matches('Node.Meta not contains env', csnProxy), true);
    // substrings
    assert.equal(matches('eb in Service.Service', csnWeb), true);
    assert.equal(matches('Service.Service contains sidecar', csnProxy), true);
    assert.equal(matches('Service.Service not contains sidecar', csnWeb), true);
    assert.equal(matches('"" in Service.Service', csnWeb), true, 'empty substring is always contained');
  });

  it('matches / not matches use Go regular expressions, unanchored', () => {
    assert.equal(matches('Service.Service matches "^we"', csnWeb), true);
    assert.equal(matches('Service.Service matches e', csnWeb), true);
    assert.equal(matches('Service.Service matches "^(web|api)-[0-9]+$"', { Service: { Service: 'api-12' } }), true);
    assert.equal(matches('Service.Service matches "^(web|api)-[0-9]+$"', { Service: { Service: 'db-12' } }), false);
    assert.equal(matches('Service.Service matches "(?i)^WEB$"', csnWeb), true, 'Go inline flags');
    assert.equal(matches('Service.Service matches `\\Aweb\\z`', csnWeb), true, 'Go-only \\A and \\z');
    assert.equal(matches('Service.Service not matches "proxy$"', csnWeb), true);
    assert.equal(matches('Service.Service not matches "proxy$"', csnProxy), false);
    assert.equal(matches('Node.Meta.env matches "^pr"', csnWeb), true);
    assert.equal(matches('Checks.Output matches `: 5\\d\\d$`', csnWeb), true);
  });

  it('is empty / is not empty on slices and maps; null and absent are empty', () => {
    assert.equal(matches('Service.Tags is not empty', csnWeb), true);
    assert.equal(matches('Service.Tags is empty', csnProxy), true, 'null slice');
    assert.equal(matches('Service.Meta is empty', csnProxy), true, 'null map');
    assert.equal(matches('Service.Meta is empty', { Service: {} }), true, 'absent map');
    assert.equal(matches('Node.Meta is not empty', csnWeb), true);
    assert.equal(matches('Checks is empty', csnProxy), true);
    assert.equal(matches('Checks is not empty', csnWeb), true);
    assert.equal(matches('Service.Proxy.Upstreams is not empty', csnProxy), true);
    assert.equal(matches('Service.Proxy.Expose.Paths is empty', csnWeb), true);
    assert.equal(matches('  Service.Tags \t is \r\n not \n empty  ', csnWeb), true, 'any whitespace between words');
  });
});

describe('go-bexpr filter: selectors', () => {
  it('map values by dotted key or ["..."] / [`...`] index', () => {
    assert.equal(matches('Node.Meta.env == prod', csnWeb), true);
    assert.equal(matches('Node.Meta["env"] == prod', csnWeb), true);
    assert.equal(matches('Node["Meta"][ `env` ] == prod', csnWeb), true);
    assert.equal(matches('Node.Meta["rack id"] == r1', csnWeb), true);
    assert.equal(matches('Node.Meta["åß∂"] == unicode', csnWeb), true);
    assert.equal(matches('Service.TaggedAddresses.lan.Port == 8080', csnWeb), true, 'map of structs');
    assert.equal(matches('Service.TaggedAddresses.lan.Address == "10.0.0.1"', csnWeb), true);
  });

  it('a missing map key: ==, in, is not empty are false; everything else (even matches) true', () => {
    assert.equal(matches('Node.Meta.zone == ""', csnWeb), false);
    assert.equal(matches('Node.Meta.zone != eu', csnWeb), true);
    assert.equal(matches('x in Node.Meta.zone', csnWeb), false);
    assert.equal(matches('x not in Node.Meta.zone', csnWeb), true);
    // evaluate.go's missing-key default covers matches too: a go-bexpr quirk kept on purpose.
    assert.equal(matches('Node.Meta.zone matches "^never$"', csnWeb), true);
    assert.equal(matches('Node.Meta.zone not matches ".*"', csnWeb), true);
    assert.equal(matches('Service.TaggedAddresses.wan.Port == 0', csnWeb), false);
    assert.equal(matches('Service.TaggedAddresses.wan.Port != 0', csnWeb), true);
  });

  it('through a slice of structs a match holds if it holds for ANY element', () => {
    assert.equal(matches('Checks.Status == passing', csnWeb), true);
    assert.equal(matches('Checks.Status == critical', csnWeb), true);
    assert.equal(matches('Checks.Status == warning', csnWeb), false);
    assert.equal(matches('Checks.Status != passing', csnWeb), true, 'some check is not passing');
    assert.equal(matches('not Checks.Status != passing', csnWeb), false, 'so "all passing" is false');
    assert.equal(matches('not Checks.Status == critical', csnWeb), false);
    assert.equal(matches('Checks.ServiceTags contains primary', csnWeb), true, 'slice inside the element');
    assert.equal(matches('Checks.CheckID matches "^service:"', csnWeb), true);
    assert.equal(matches('pass in Checks.Status', csnWeb), true, 'substring of any element');
    assert.equal(matches('Checks.ServiceTags is empty', csnWeb), true, 'the serf check has no tags');
    assert.equal(matches('Checks.ServiceTags is not empty', csnWeb), true);
    // each match expression walks the slice on its own: no correlation between elements
    assert.equal(matches('Checks.Status == passing and Checks.Name == "web check"', csnWeb), true);
    // an empty slice has no element for any operator, even != and not in
    assert.equal(matches('Checks.Status == passing', csnProxy), false);
    assert.equal(matches('Checks.Status != passing', csnProxy), false);
    assert.equal(matches('x not in Checks.ServiceTags', csnProxy), false);
    assert.equal(matches('not Checks.Status == critical', csnProxy), true);
  });

  it('deeply nested fields through structs and slices of structs', () => {
    assert.equal(matches('Service.Proxy.Upstreams.DestinationName == db', csnProxy), true);
    assert.equal(matches('Service.Proxy.Upstreams.LocalBindPort == 9192', csnProxy), true);
    assert.equal(matches('Service.Proxy.Upstreams.MeshGateway.Mode == local', csnProxy), true);
    assert.equal(matches('Service.Proxy.Expose.Paths.Path == "/health"', csnProxy), true);
    assert.equal(matches('Service.Proxy.Upstreams.DestinationName == db', csnWeb), false);
    assert.equal(matches('Service.Proxy.MeshGateway.Mode == ""', csnWeb), true, 'absent struct reads as zero value');
  });
});

describe('go-bexpr filter: logical operators', () => {
  const t = 'Service.Service == web'; // true for csnWeb
  const f = 'Service.Port == 1'; // false for csnWeb

  it('not binds tighter than and, and tighter than or', () => {
    assert.equal(matches(`${f} and ${f} or ${t}`, csnWeb), true, '(f and f) or t');
    assert.equal(matches(`${t} or ${t} and ${f}`, csnWeb), true, 't or (t and f)');
    assert.equal(matches(`not ${f} and ${t}`, csnWeb), true, '(not f) and t');
    assert.equal(matches(`not ${t} or ${t}`, csnWeb), true, '(not t) or t');
    assert.equal(matches(`not ${t} and ${f} or ${t}`, csnWeb), true);
  });

  it('parentheses group, and not / not not apply to groups', () => {
    assert.equal(matches(`(${t} or ${t}) and ${f}`, csnWeb), false);
    assert.equal(matches(`${t} and not (${f} or ${t})`, csnWeb), false);
    assert.equal(matches(`not (${f})`, csnWeb), true);
    assert.equal(matches(`not not ${t}`, csnWeb), true);
    assert.equal(matches(`not not not ${t}`, csnWeb), false);
    assert.equal(matches(` ( ( ${t} ) ) `, csnWeb), true);
    assert.equal(matches(`((${f}) or ((${t}) and (${t})))`, csnWeb), true);
  });

  it('keeps deep nesting linear (packrat) and refuses absurd nesting with a FilterError', () => {
    const deep = '('.repeat(200) + t + ')'.repeat(200);
    assert.equal(matches(deep, csnWeb), true);
    const absurd = '('.repeat(100_000) + t + ')'.repeat(100_000);
    assert.throws(() => compileFilter(absurd, checkServiceNodeSchema), FilterError);
  });

  it('an empty expression matches everything', () => {
    assert.equal(compileFilter('', checkServiceNodeSchema).matches(null), true);
  });
});

describe('go-bexpr filter: every schema', () => {
  it('nodeSchema (structs.Node)', () => {
    assert.equal(matches('Meta.env == prod and Datacenter == dc1', node1, nodeSchema), true);
    assert.equal(matches('TaggedAddresses.wan matches "^198\\\\."', node1, nodeSchema), true);
    rejects('Service == web', 'Selector "Service" is not valid', nodeSchema);
  });

  it('serviceNodeSchema (structs.ServiceNode)', () => {
    const sn = {
      Node: 'node1',
      NodeMeta: { env: 'prod' },
      ServiceName: 'web',
      ServiceTags: ['v1'],
      ServicePort: 8080,
      ServiceWeights: { Passing: 1, Warning: 1 },
      ServiceTaggedAddresses: { lan_ipv4: { Address: '10.0.0.1', Port: 8080 } },
      ServiceEnableTagOverride: false,
      ServiceProxy: { Upstreams: [{ DestinationName: 'db' }] },
    };
    assert.equal(matches('ServiceTags contains v1 and NodeMeta.env == prod and ServicePort == 8080', sn, serviceNodeSchema), true);
    assert.equal(matches('ServiceTaggedAddresses.lan_ipv4.Port == 8080 and ServiceWeights.Warning == 1', sn, serviceNodeSchema), true);
    assert.equal(matches('ServiceProxy.Upstreams.DestinationName == db', sn, serviceNodeSchema), true);
    rejects('Service.Service == web', 'Selector "Service" is not valid', serviceNodeSchema);
  });

  it('healthCheckSchema (structs.HealthCheck)', () => {
    assert.equal(matches('Status == critical and ServiceName == web and Type == http', webCheck, healthCheckSchema), true);
    assert.equal(matches('ServiceTags is empty and CheckID == serfHealth', serfCheck, healthCheckSchema), true);
    assert.equal(matches('Interval == "10s" and ExposedPort == 21500', webCheck, healthCheckSchema), true);
  });

  it('agentServiceSchema (api.AgentService) and nodeServiceSchema (structs.NodeService)', () => {
    assert.equal(matches('Service == web and Port == 8080 and Meta.version == "1.2"', webService, agentServiceSchema), true);
    assert.equal(matches('Kind == "connect-proxy" and Proxy.DestinationServiceName == web', proxyService, nodeServiceSchema), true);
    assert.equal(matches('Proxy.Mode == transparent and Proxy.TransparentProxy.OutboundListenerPort == 15001', proxyService, agentServiceSchema), true);
    assert.equal(matches('Proxy.Expose.Checks == true', proxyService, nodeServiceSchema), true);
    // bexpr:"-" fields and promoted RaftIndex fields are not selectable
    rejects('Namespace == default', 'Selector "Namespace" is not valid', agentServiceSchema);
    rejects('CreateIndex == 1', 'Selector "CreateIndex" is not valid', nodeServiceSchema);
    rejects('Proxy.Config is empty', 'Selector "Proxy.Config" is not valid', nodeServiceSchema);
  });

  it('filterList and filterRecord keep matching items, in order', () => {
    const f = compileFilter('Service == web', agentServiceSchema);
    assert.deepEqual(filterList([webService, proxyService, webService], f), [webService, webService]);
    assert.deepEqual(filterList([webService], null), [webService]);
    const record = JSON.parse('{"__proto__": {"Service": "web"}, "b": {"Service": "db"}}') as Record<string, unknown>;
    const kept = filterRecord(record, f);
    assert.deepEqual(Object.keys(kept), ['__proto__']);
    assert.equal(Object.getPrototypeOf(kept), Object.prototype);
  });
});

describe('go-bexpr filter: validation errors', () => {
  it('unknown selectors name the prefix that failed, case-sensitively', () => {
    rejects('Service.Foo == 1', 'Selector "Service.Foo" is not valid');
    rejects('Service.Foo.Bar == 1', 'Selector "Service.Foo" is not valid');
    rejects('service.Service == web', 'Selector "service" is not valid');
    rejects('Node.Meta.env.x == 1', 'Selector "Node.Meta.env.x" is not valid');
    rejects('Service.Tags.x == 1', 'Selector "Service.Tags.x" is not valid');
    rejects('Checks.Nope == 1', 'Selector "Checks.Nope" is not valid');
    // validation runs left to right and the first error wins
    rejects('Service.Port == abc or Service.Nope == 1', 'Failed to coerce value "abc" for selector "Service.Port": strconv.ParseInt: parsing "abc": invalid syntax');
    rejects('not (Service.Nope == 1 and Service.Port == abc)', 'Selector "Service.Nope" is not valid');
    rejects('Node.Meta["a b"].c == 1', 'Selector "Node.Meta.a b.c" is not valid');
    // Object.prototype names are neither fields nor map keys
    rejects('Service.constructor == x', 'Selector "Service.constructor" is not valid');
    rejects('toString == x', 'Selector "toString" is not valid', nodeSchema);
    assert.equal(matches('Node.Meta.constructor == x', { Node: { Meta: {} } }), false);
    assert.equal(matches('constructor in Node.Meta', { Node: { Meta: {} } }), false);
  });

  it('operators a field type does not support', () => {
    rejects('Service.Tags == primary', 'Invalid match operator "Equal" for selector "Service.Tags"');
    rejects('Service.Meta == x', 'Invalid match operator "Equal" for selector "Service.Meta"');
    rejects('Service.Port contains 80', 'Invalid match operator "In" for selector "Service.Port"');
    rejects('Service.Port matches 80', 'Invalid match operator "Matches" for selector "Service.Port"');
    rejects('true not in Service.EnableTagOverride', 'Invalid match operator "Not In" for selector "Service.EnableTagOverride"');
    rejects('Service.Service is empty', 'Invalid match operator "Is Empty" for selector "Service.Service"');
    rejects('Service.Weights is not empty', 'Invalid match operator "Is Not Empty" for selector "Service.Weights"');
    rejects('Service.Weights != 1', 'Invalid match operator "Not Equal" for selector "Service.Weights"');
    rejects('Checks == x', 'Invalid match operator "Equal" for selector "Checks"');
    rejects('x in Checks', 'Invalid match operator "In" for selector "Checks"');
    rejects('Service.Tags matches x', 'Invalid match operator "Matches" for selector "Service.Tags"');
    rejects('Service.TaggedAddresses.lan not matches x', 'Invalid match operator "Not Matches" for selector "Service.TaggedAddresses.lan"');
  });

  it('values that do not coerce to the field type', () => {
    rejects('Service.Port == abc', 'Failed to coerce value "abc" for selector "Service.Port": strconv.ParseInt: parsing "abc": invalid syntax');
    rejects('Service.Port == 1.5', 'Failed to coerce value "1.5" for selector "Service.Port": strconv.ParseInt: parsing "1.5": invalid syntax');
    rejects(
      'Service.Port == 9223372036854775808',
      'Failed to coerce value "9223372036854775808" for selector "Service.Port": strconv.ParseInt: parsing "9223372036854775808": value out of range',
    );
    rejects(
      'Service.EnableTagOverride == yes',
      'Failed to coerce value "yes" for selector "Service.EnableTagOverride": strconv.ParseBool: parsing "yes": invalid syntax',
    );
    rejects('Service.Port == ""', 'Failed to coerce value "" for selector "Service.Port": strconv.ParseInt: parsing "": invalid syntax');
  });

  it('regular expressions Go would not compile', () => {
    rejects('Service.Service matches "("', 'Failed to compile regular expression "(": error parsing regexp: missing closing ): `(`');
    rejects('Service.Service not matches "a**"', 'Failed to compile regular expression "a**": error parsing regexp: invalid nested repetition operator: `**`');
    rejects('Service.Service matches "(?<n>x)"', 'Failed to compile regular expression "(?<n>x)": error parsing regexp: invalid or unsupported Perl syntax: `(?<`');
  });
});

describe('go-bexpr filter: syntax errors (pigeon messages)', () => {
  const syntax = (expr: string, message: string): void => {
    assert.throws(() => parseExpression(expr), (e: unknown) => e instanceof FilterError && e.message === message, expr);
  };

  it('gives Consul\'s message for an unsupported comparison operator', () => {
    rejects(
      'Service.Weights.Passing > 1',
      '1:25 (24): no match found, expected: "!=", "==", "contains", "in", "is", "matches", "not" or [ \\t\\r\\n]',
    );
  });

  it('reproduces go-bexpr v0.1.2 grammar_test.go error texts', () => {
    syntax('foo == "12x', '1:12 (11): rule "string": Unterminated string literal');
    syntax('foo == `12x', '1:12 (11): rule "string": Unterminated string literal');
    syntax('foo == 3x', '1:9 (8): rule "number": Invalid number literal');
    syntax('foo[3] == abc', '1:5 (4): rule "index": Invalid index');
    syntax('x in foo["abc"', '1:15 (14): rule "index": Unclosed index expression');
    syntax('foo["abc" == 3', '1:11 (10): rule "index": Unclosed index expression');
    syntax('x in 32', '1:6 (5): rule "match": Invalid selector');
    syntax('32 == 32', '1:4 (3): no match found, expected: "in", "not" or [ \\t\\r\\n]');
    syntax('32 is empty', '1:4 (3): no match found, expected: "in", "not" or [ \\t\\r\\n]');
    syntax('x in foo abc', '1:10 (9): no match found, expected: "and", "or", [ \\t\\r\\n] or EOF');
    const operand = '"(", "-", "0", "\\"", "`", "not", [ \\t\\r\\n], [1-9] or [a-zA-Z]';
    syntax('x in foo and ', `1:14 (13): no match found, expected: ${operand}`);
    syntax('x in foo or ', `1:13 (12): no match found, expected: ${operand}`);
    syntax(
      'x in foo or not ',
      '1:17 (16): no match found, expected: "!=", "(", "-", "0", "==", "\\"", "`", "contains", "in", "is", "matches", "not", [ \\t\\r\\n], [1-9] or [a-zA-Z]',
    );
    syntax('(foo == 4', '1:10 (9): rule "grouping": Unmatched parentheses');
  });

  it('reports columns in runes and offsets in bytes', () => {
    syntax('Service.Service == "éé', '1:23 (24): rule "string": Unterminated string literal');
    syntax('x in foo\nabc', '2:1 (9): no match found, expected: "and", "or", [ \\t\\r\\n] or EOF');
  });

  it('an invalid string literal is a strconv.Unquote error at the literal', () => {
    // DoubleStringChar is !'"' . so a backslash cannot escape the closing quote.
    syntax('Service.Service == "a\\"b"', '1:20 (19): rule "string": invalid syntax');
  });

  it('keywords are lower-case and need whitespace', () => {
    assert.throws(() => compileFilter('Service.Service == web AND Service.Port == 1', checkServiceNodeSchema), FilterError);
    assert.throws(() => compileFilter('Service.Tags CONTAINS x', checkServiceNodeSchema), FilterError);
    assert.throws(() => compileFilter('Service.Tags contains"x"', checkServiceNodeSchema), FilterError);
    assert.throws(() => compileFilter('Service.Service = web', checkServiceNodeSchema), FilterError);
    assert.throws(() => compileFilter('Service.Service == my-svc', checkServiceNodeSchema), FilterError, 'unquoted values stop at -');
  });
});

describe('go-bexpr filter: linear-time matches', () => {
  it('evaluates catastrophic-backtracking patterns quickly', () => {
    const long = 'a'.repeat(20_000) + 'b';
    const start = performance.now();
    assert.equal(matches('Service.Service matches "(a+)+$"', { Service: { Service: long } }), false);
    assert.equal(matches('Service.Service matches "^(a+)+$"', { Service: { Service: long } }), false);
    assert.equal(matches('Service.Service matches "^(a|aa)*c$"', { Service: { Service: long } }), false);
    assert.equal(matches('Service.Service not matches "^(a|a?)+$"', { Service: { Service: long } }), true);
    assert.equal(matches('Checks.Output matches "^(\\\\w+\\\\s?)*$"', { Checks: [{ Output: 'word '.repeat(2000) + '!' }] }), false);
    const elapsed = performance.now() - start;
    assert.ok(elapsed < 2000, `took ${elapsed.toFixed(0)} ms`);
  });

  it('the NFA path still gets ordinary patterns right', () => {
    const svc = (s: string): unknown => ({ Service: { Service: s } });
    // Go semantics survive the NFA: '.' is a rune, \s is ASCII-only, (?i) and POSIX classes work
    assert.equal(matches('Service.Service matches "^(.|xy)$"', svc('😀')), true);
    assert.equal(matches('Service.Service matches "^(.|xy)(.|xy)$"', svc('😀')), false);
    assert.equal(matches('Service.Service matches "^(\\\\s|x)$"', svc('\u00a0')), false);
    assert.equal(matches('Service.Service matches "^(\\\\s|x)$"', svc('\t')), true);
    assert.equal(matches('Service.Service matches "(?i)^(WEB|api)$"', svc('web')), true);
    assert.equal(matches('Service.Service matches "^([[:alpha:]]|-)+$"', svc('web-api')), true);
    assert.equal(matches('Service.Service matches "^([[:alpha:]]|-)+$"', svc('web_api')), false);
    assert.equal(matches('Service.Service matches "^(ab|a)(bc|c)$"', svc('abc')), true);
    assert.equal(matches('Service.Service matches "(a|b)*abb$"', svc('babababb')), true);
    assert.equal(matches('Service.Service matches "(a|b)*abb$"', svc('bababab')), false);
    assert.equal(matches('Service.Service matches "\\\\b(web|api)\\\\b"', svc('my web svc')), true);
    assert.equal(matches('Service.Service matches "\\\\b(web|api)\\\\b"', svc('webby')), false);
    assert.equal(matches('Service.Service matches "^(x{2,3})+$"', svc('xxxxx')), true);
    assert.equal(matches('Service.Service matches "^(x{2,3})+$"', svc('x')), false);
  });
});
