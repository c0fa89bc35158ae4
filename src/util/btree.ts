// sorted-btree is CommonJS with an ES-style default export; under Node's ESM interop the class sits
// at `.default` of the module object. Re-export it once so callers import a plain class.
import btreeModule from 'sorted-btree';

export const BTree = btreeModule.default;
export type BTree<K, V> = InstanceType<typeof btreeModule.default<K, V>>;
