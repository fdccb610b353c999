import { Alert, Button, Code, Combobox, Group, Text, TextInput, useCombobox } from '@mantine/core';
import { useEffect, useId, useMemo, useRef, useState } from 'react';

import classes from '../runs.module.css';
import {
  applySuggestion,
  complete,
  namePrefix,
  type CompletionSource,
  type Suggestion,
} from '../query-completion';

/** QueryProblem is the server's complaint about the typed query, located in it. */
export interface QueryProblem {
  message: string;
  /** column is 1-based, in the typed query; null when the server gave no position. */
  column: number | null;
}

/**
 * QueryBar edits a query in the server's language, completing field names,
 * param paths, metric and series names and the values of status, review and
 * project. The
 * query applies on Enter (or the button); a syntax error shows the server's
 * message with a marker under the column it names. The parent keys it by
 * `value`, so a new view (link, back button) replaces the text being edited.
 */
export function QueryBar({
  value,
  onSubmit,
  source,
  problem,
  onNamePrefix,
}: {
  value: string;
  onSubmit: (q: string) => void;
  source: CompletionSource;
  problem: QueryProblem | null;
  /** onNamePrefix hears the start of the param, metric or series name being typed (null: none). */
  onNamePrefix?: (prefix: string | null) => void;
}) {
  const [text, setText] = useState(value);
  const [cursor, setCursor] = useState(value.length);
  const input = useRef<HTMLInputElement>(null);
  const combobox = useCombobox({ onDropdownClose: () => { combobox.resetSelectedOption(); } });
  const errorId = useId();
  const helpId = useId();

  const suggestions = useMemo(() => complete(text, cursor, source), [text, cursor, source]);
  const typedName = namePrefix(text, cursor);
  useEffect(() => {
    onNamePrefix?.(typedName);
  }, [typedName, onNamePrefix]);

  const pick = (s: Suggestion) => {
    const next = applySuggestion(text, s);
    setText(next.text);
    setCursor(next.cursor);
    requestAnimationFrame(() => {
      input.current?.setSelectionRange(next.cursor, next.cursor);
    });
  };

  const track = () => {
    setCursor(input.current?.selectionStart ?? text.length);
  };

  return (
    <div>
      <form
        role="search"
        aria-label="Filter runs"
        onSubmit={(e) => {
          e.preventDefault();
          combobox.closeDropdown();
          onSubmit(text.trim());
        }}
      >
        <Group gap="xs" align="flex-start" wrap="nowrap">
          <Combobox
            store={combobox}
            onOptionSubmit={(v) => {
              const s = suggestions[Number(v)];
              if (s !== undefined) {
                pick(s);
              }
            }}
            withinPortal={false}
          >
            <Combobox.Target>
              <TextInput
                ref={input}
                className={classes.grow}
                label="Query"
                description={
                  <span id={helpId}>
                    For example <Code>status = failed and metrics.loss &lt; 1e-3</Code>. Tab or arrows pick a
                    completion; Enter applies.
                  </span>
                }
                placeholder='project = "sweep-12" and review = unreviewed'
                value={text}
                spellCheck={false}
                autoComplete="off"
                ff="monospace"
                error={problem !== null}
                aria-invalid={problem !== null}
                aria-describedby={problem === null ? helpId : `${helpId} ${errorId}`}
                onChange={(e) => {
                  setText(e.currentTarget.value);
                  setCursor(e.currentTarget.selectionStart ?? e.currentTarget.value.length);
                  combobox.openDropdown();
                  combobox.updateSelectedOptionIndex();
                }}
                onClick={() => {
                  track();
                  combobox.openDropdown();
                }}
                onKeyUp={(e) => {
                  if (e.key === 'ArrowLeft' || e.key === 'ArrowRight' || e.key === 'Home' || e.key === 'End') {
                    track();
                  }
                }}
                onFocus={() => {
                  track();
                  combobox.openDropdown();
                }}
                onBlur={() => { combobox.closeDropdown(); }}
                onKeyDown={(e) => {
                  if (e.key === 'Tab' && combobox.dropdownOpened && suggestions.length > 0 && !e.shiftKey) {
                    e.preventDefault();
                    const index = Math.max(0, combobox.getSelectedOptionIndex());
                    const s = suggestions[index];
                    if (s !== undefined) {
                      pick(s);
                    }
                  }
                  if (e.key === 'Escape') {
                    combobox.closeDropdown();
                  }
                }}
              />
            </Combobox.Target>
            <Combobox.Dropdown hidden={suggestions.length === 0}>
              <Combobox.Options aria-label="Completions">
                {suggestions.map((s, i) => (
                  <Combobox.Option value={String(i)} key={`${s.kind}:${s.label}`}>
                    <Text size="sm" ff="monospace">
                      {s.label}
                    </Text>
                  </Combobox.Option>
                ))}
              </Combobox.Options>
            </Combobox.Dropdown>
          </Combobox>
          <Button type="submit" mt={24}>
            Apply
          </Button>
        </Group>
      </form>
      {problem !== null && <QueryError id={errorId} text={value} problem={problem} />}
    </div>
  );
}

/** QueryError shows the server's message and points at the column it names. */
function QueryError({ id, text, problem }: { id: string; text: string; problem: QueryProblem }) {
  const column = problem.column === null ? null : Math.min(Math.max(problem.column, 1), text.length + 1);
  return (
    <Alert color="red" variant="light" mt="xs" role="alert" id={id} title="The query is not valid">
      <Text size="sm">{problem.message}</Text>
      {column !== null && (
        <pre className={classes.marker} data-testid="query-error-marker" aria-hidden="true">
          {text}
          {'\n'}
          {' '.repeat(column - 1)}^
        </pre>
      )}
    </Alert>
  );
}
