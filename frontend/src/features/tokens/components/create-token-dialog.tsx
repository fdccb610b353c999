import { Checkbox, Modal, NumberInput, Stack, TagsInput, TextInput } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useQuery } from '@tanstack/react-query';

import { DialogFormButtons } from '@/components/dialog-form-buttons';
import { ErrorAlert } from '@/components/error-alert';
import { usePermissions } from '@/lib/authorization';
import { showFieldProblems } from '@/lib/form';
import { projectsQueryOptions } from '@/lib/projects-query';
import type { TokenScope } from '@/types/api';

import { useCreateToken, type NewTokenInput } from '../api/tokens';
import {
  scopeOrder,
  tokenExpiryProblem,
  tokenLimits,
  tokenNameProblem,
  tokenProjectsProblem,
  tokenScopesProblem,
} from '../token-rules';

import { TokenReveal } from './token-reveal';

interface TokenFormValues {
  name: string;
  scopes: TokenScope[];
  projects: string[];
  expires_in_days: number | string;
}

/**
 * CreateTokenDialog creates an API token and then shows it, once. It offers
 * only the scopes the user's role may hold (viewers: runs:read). While the
 * secret is shown the dialog closes only through its button, so a stray click
 * or Escape does not lose it; closing forgets the secret.
 */
export function CreateTokenDialog({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const { can } = usePermissions();
  const mayWrite = can('runs:write');
  const create = useCreateToken();
  const projects = useQuery({ ...projectsQueryOptions, enabled: opened });
  const form = useForm<TokenFormValues>({
    mode: 'controlled',
    initialValues: {
      name: '',
      scopes: mayWrite ? ['runs:read', 'runs:write'] : ['runs:read'],
      projects: [],
      expires_in_days: tokenLimits.defaultDays,
    },
    validate: {
      name: tokenNameProblem,
      scopes: tokenScopesProblem,
      projects: tokenProjectsProblem,
      expires_in_days: tokenExpiryProblem,
    },
  });

  const revealed = create.data;

  function close() {
    form.reset();
    create.reset(); // forget the secret
    onClose();
  }

  const submit = form.onSubmit((values) => {
    const input: NewTokenInput = {
      name: values.name.trim(),
      scopes: scopeOrder.filter((s) => values.scopes.includes(s)),
      projects: values.projects.map((p) => p.trim()),
      expires_in_days: Number(values.expires_in_days),
    };
    create.mutate(input, {
      onError: (error) => {
        showFieldProblems(form, error);
      },
    });
  });

  return (
    <Modal
      opened={opened}
      onClose={close}
      title={revealed === undefined ? 'New API token' : `Your new token: ${revealed.name}`}
      size="lg"
      centered
      closeOnClickOutside={revealed === undefined}
      closeOnEscape={revealed === undefined}
      withCloseButton={revealed === undefined}
    >
      {revealed !== undefined ? (
        <TokenReveal token={revealed} origin={window.location.origin} onDone={close} />
      ) : (
        <form onSubmit={submit} noValidate aria-label="New API token">
          <Stack gap="md">
            {create.isError && <ErrorAlert error={create.error} title="The token was not created" />}
            <TextInput
              label="Name"
              description="Where it is used, e.g. “cluster A sweeps”."
              autoComplete="off"
              required
              data-autofocus
              {...form.getInputProps('name')}
            />
            <Checkbox.Group
              label="Scopes"
              description={mayWrite ? undefined : 'Viewers can hold runs:read only.'}
              required
              {...form.getInputProps('scopes')}
            >
              <Stack gap="xs" mt="xs">
                <Checkbox value="runs:read" label="runs:read" description="List and read runs and their series." />
                {mayWrite && (
                  <Checkbox
                    value="runs:write"
                    label="runs:write"
                    description="Create runs, add series points and change runs."
                  />
                )}
              </Stack>
            </Checkbox.Group>
            <TagsInput
              label="Projects"
              description="The projects it may reach; none means every project. Press Enter after each name."
              placeholder={form.values.projects.length === 0 ? 'All projects' : undefined}
              data={projects.data?.map((p) => p.name) ?? []}
              maxTags={tokenLimits.projects}
              splitChars={[',']}
              clearable
              {...form.getInputProps('projects')}
            />
            <NumberInput
              label="Expires after (days)"
              description={`${tokenLimits.minDays} to ${tokenLimits.maxDays} days.`}
              min={tokenLimits.minDays}
              max={tokenLimits.maxDays}
              allowDecimal={false}
              allowNegative={false}
              clampBehavior="none"
              required
              {...form.getInputProps('expires_in_days')}
            />
            <DialogFormButtons submitLabel="Create token" pending={create.isPending} onCancel={close} />
          </Stack>
        </form>
      )}
    </Modal>
  );
}
