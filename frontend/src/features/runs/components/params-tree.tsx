import { Text, TextInput } from '@mantine/core';
import { useMemo, useState } from 'react';

import { formatValue } from '../format';
import { paramPaths } from '../query-completion';
import { paramId } from '../links';
import classes from '../runs.module.css';

interface Node {
  key: string;
  path: string;
  value?: unknown;
  children?: Node[];
}

function build(params: Record<string, unknown>, prefix: string): Node[] {
  return Object.entries(params).map(([key, value]) => {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      return { key, path, children: build(value as Record<string, unknown>, path) };
    }
    return { key, path, value };
  });
}

function keep(node: Node, term: string): boolean {
  if (node.children !== undefined) {
    return node.children.some((c) => keep(c, term));
  }
  const t = term.toLowerCase();
  return node.path.toLowerCase().includes(t) || formatValue(node.value).toLowerCase().includes(t);
}

/**
 * ParamsTree shows nested params as a tree of native disclosure widgets
 * (keyboard and screen readers know them). A search keeps the matching
 * leaves, opened; `highlight` opens and marks the param a link points at.
 */
export function ParamsTree({ params, highlight }: { params: Record<string, unknown>; highlight: string | null }) {
  const [term, setTerm] = useState('');
  const nodes = useMemo(() => build(params, ''), [params]);
  const count = useMemo(() => paramPaths(params).size, [params]);
  const shown = term === '' ? nodes : nodes.filter((n) => keep(n, term));
  return (
    <div>
      <TextInput
        label="Search params"
        placeholder="name or value"
        value={term}
        onChange={(e) => { setTerm(e.currentTarget.value); }}
        mb="xs"
        w={280}
      />
      {count === 0 ? (
        <Text size="sm" c="dimmed">
          This run has no params.
        </Text>
      ) : shown.length === 0 ? (
        <Text size="sm">No param matches “{term}”.</Text>
      ) : (
        <ul className={classes.tree} aria-label="Params">
          {shown.map((n) => (
            <TreeNode key={n.key} node={n} term={term} highlight={highlight} />
          ))}
        </ul>
      )}
    </div>
  );
}

function TreeNode({ node, term, highlight }: { node: Node; term: string; highlight: string | null }) {
  if (node.children === undefined) {
    const marked = highlight === node.path;
    return (
      <li
        id={paramId(node.path)}
        className={marked ? classes.marked : undefined}
        data-param={node.path}
        data-marked={marked || undefined}
      >
        <span className={classes.paramKey}>{node.key}</span>
        {' = '}
        <span className={classes.mono}>{formatValue(node.value)}</span>
      </li>
    );
  }
  const children = term === '' ? node.children : node.children.filter((c) => keep(c, term));
  const open = term !== '' || (highlight !== null && highlight.startsWith(`${node.path}.`));
  return (
    <li>
      <details open={open || undefined}>
        <summary>
          <span className={classes.paramKey}>{node.key}</span>
          <Text span size="xs" c="dimmed">
            {' '}
            ({children.length})
          </Text>
        </summary>
        <ul className={classes.tree}>
          {children.map((c) => (
            <TreeNode key={c.key} node={c} term={term} highlight={highlight} />
          ))}
        </ul>
      </details>
    </li>
  );
}
