import { Button, Group, Textarea } from '@mantine/core';
import { useForm } from '@mantine/form';

/**
 * InlineFormButtons ends a form shown in place of what it edits: the
 * submit button (which shows the wait), then Cancel.
 */
export function InlineFormButtons({
  submitLabel,
  pending,
  disabled = false,
  onCancel,
}: {
  submitLabel: string;
  pending: boolean;
  disabled?: boolean;
  onCancel: () => void;
}) {
  return (
    <Group gap="xs" mt="xs">
      <Button type="submit" size="xs" loading={pending} disabled={disabled}>
        {submitLabel}
      </Button>
      <Button size="xs" variant="default" onClick={onCancel}>
        Cancel
      </Button>
    </Group>
  );
}

/**
 * TextEditForm edits one text in place (a run's notes, a comment), with
 * @mantine/form: onSave gets the text; required refuses an empty one.
 */
export function TextEditForm({
  label,
  initial,
  rows,
  maxLength,
  submitLabel,
  pending,
  required = false,
  onSave,
  onCancel,
}: {
  label: string;
  initial: string;
  rows: number;
  maxLength: number;
  submitLabel: string;
  pending: boolean;
  required?: boolean;
  onSave: (text: string) => void;
  onCancel: () => void;
}) {
  const form = useForm<{ text: string }>({ initialValues: { text: initial } });
  const empty = form.values.text.trim() === '';
  return (
    <form onSubmit={form.onSubmit(({ text }) => { onSave(text); })}>
      <Textarea label={label} resize="vertical" rows={rows} maxLength={maxLength} {...form.getInputProps('text')} />
      <InlineFormButtons submitLabel={submitLabel} pending={pending} disabled={required && empty} onCancel={onCancel} />
    </form>
  );
}
