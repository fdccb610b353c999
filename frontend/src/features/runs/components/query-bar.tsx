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

/** QueryWarning is the server's hint about a name in the query that no run in view has (never an error). */
export interface QueryWarning {
  message: string;
  suggestion: string;
  column: number;
}

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
 * message with a marker under the column it names, and the server's hints
 * (unknown names) show under the bar in a status region.
 *
 * Keyboard (WCAG 2.1.1, 3.2.2): the completion list opens on typing, on
 * ArrowDown or on Ctrl+Space, never on focus; Tab takes a completion only
 * when one is highlighted (arrows or hover), else it leaves the field with
 * the text as it was. The bar stays mounted when the query applies, so the
 * focus stays in it; a new `value` (link, back button) replaces the text.
 */
export function QueryBar({
  value,
  onSubmit,
  source,
  problem,
  warnings = [],
  onNamePrefix,
}: {
  value: string;
  onSubmit: (q: string) => void;
  source: CompletionSource;
  problem: QueryProblem | null;
  warnings?: readonly QueryWarning[];
  /** onNamePrefix hears the start of the param, metric or series name being typed (null: none). */
  onNamePrefix?: (prefix: string | null) => void;
}) {
  const [text, setText] = useState(value);
  const [cursor, setCursor] = useState(value.length);
  // A new value from outside (a link, the back button, an applied query)
  // replaces the text; the input stays mounted, and so keeps the focus.
  const [shown, setShown] = useState(value);
  if (shown !== value) {
    setShown(value);
    setText(value);
    setCursor(value.length);
  }
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
                    For example <Code>status = failed and metrics.loss &lt; 1e-3</Code>. Completions open as you
                    type, or with ArrowDown or Ctrl+Space; arrows highlight one and Tab or Enter takes it; Enter
                    applies the query.
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
                  // What was highlighted may now be another completion: Tab must not take it unseen.
                  combobox.resetSelectedOption();
                }}
                onClick={track}
                onKeyUp={(e) => {
                  if (e.key === 'ArrowLeft' || e.key === 'ArrowRight' || e.key === 'Home' || e.key === 'End') {
                    track();
                  }
                }}
                onFocus={track}
                onBlur={() => { combobox.closeDropdown(); }}
                onKeyDown={(e) => {
                  if (e.key === ' ' && e.ctrlKey) {
                    e.preventDefault();
                    track();
                    combobox.openDropdown();
                  }
                  const index = combobox.getSelectedOptionIndex();
                  if (e.key === 'Tab' && !e.shiftKey && combobox.dropdownOpened && index >= 0) {
                    const s = suggestions[index];
                    if (s !== undefined) {
                      e.preventDefault();
                      pick(s);
                      combobox.resetSelectedOption();
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
                  <Combobox.Option
                    value={String(i)}
                    key={`${s.kind}:${s.label}`}
                    onMouseOver={() => { combobox.selectOption(i); }}
                  >
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
      {/* Always in the page, so a screen reader hears hints that arrive later. */}
      <div role="status" aria-label="Query hints" data-testid="query-warnings">
        {warnings.length > 0 && (
          <Alert color="yellow" variant="light" mt="xs" title="About this query">
            <ul className={classes.hints}>
              {warnings.map((w) => (
                <li key={`${String(w.column)}:${w.message}`}>{w.message}</li>
              ))}
            </ul>
          </Alert>
        )}
      </div>
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
