// The pure ACL surface: rules parsing and translation, compiled authorizers, identities, shapes.

export * from './types.js';
export { ACLRuleError, RULE_RESOURCES, emptyRules, goStructText, parseRules, type RuleResource, type RuleSyntax } from './rules.js';
export { translateLegacyRules } from './translate.js';
export {
  PolicyAuthorizer,
  RuleTree,
  allowAll,
  compileAuthorizer,
  defaultAuthorizer,
  denyAll,
  manageAll,
  mergeRules,
  takesPrecedenceOver,
} from './authorizer.js';
export {
  appliesInDatacenter,
  identityRulesIn,
  nodeIdentityApplies,
  nodeIdentityRules,
  nodeIdentityRulesText,
  serviceIdentityApplies,
  serviceIdentityRules,
  serviceIdentityRulesText,
  type IdentityRules,
} from './identities.js';
