import { MultiSelect } from '@mantine/core';

/**
 * ColumnChooser picks the extra columns: any metric or param of the loaded
 * runs. Loaded on demand (the runs page's first load does not carry the
 * multi-select), from the Columns button.
 */
export default function ColumnChooser({
  metrics,
  params,
  value,
  onChange,
}: {
  metrics: string[];
  params: string[];
  value: string[];
  onChange: (cols: string[]) => void;
}) {
  return (
    <MultiSelect
      label="Columns"
      placeholder={value.length === 0 ? 'Add a param or metric' : undefined}
      data={[
        { group: 'Metrics', items: metrics.map((m) => `metrics.${m}`) },
        { group: 'Params', items: params.map((p) => `params.${p}`) },
      ]}
      value={value}
      onChange={onChange}
      searchable
      clearable
      w={420}
      maxDropdownHeight={300}
      comboboxProps={{ withinPortal: false }}
      data-autofocus
    />
  );
}
