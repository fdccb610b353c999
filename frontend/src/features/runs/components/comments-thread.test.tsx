import { screen } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { MemoryRouter } from 'react-router';
import { describe, expect, it } from 'vitest';

import { startSession } from '@/lib/session/session';
import { installFakeApi } from '@/testing/fake-api';
import { jsonResponse, renderWithProviders } from '@/testing/test-utils';

import { CommentsThread } from './comments-thread';

describe('the comment box', () => {
  it('keeps a draft typed while the previous comment was being sent, and clears one that was sent', async () => {
    const sent: string[] = [];
    let answer: (() => void) | undefined;
    installFakeApi({
      handlers: {
        'GET /api/runs/r1/comments': () => jsonResponse({ comments: [] }),
        'POST /api/runs/r1/comments': (init) => {
          const body = JSON.parse(typeof init?.body === 'string' ? init.body : '{}') as { body: string };
          sent.push(body.body);
          const comment = { id: `c${String(sent.length)}`, author: 'u1', body: body.body, at: '2026-01-02T03:04:05Z' };
          return new Promise<Response>((resolve) => {
            answer = () => { resolve(jsonResponse(comment, { status: 201 })); };
          });
        },
      },
    });
    startSession();
    renderWithProviders(
      <MemoryRouter>
        <CommentsThread runId="r1" userId="u1" isAdmin={false} paramPaths={['optimizer.name']} seriesNames={[]} />
      </MemoryRouter>,
    );
    const box = await screen.findByRole('textbox', { name: 'Add a comment' });
    await userEvent.type(box, 'the bump here');
    await userEvent.click(screen.getByRole('button', { name: 'Comment' }));
    await screen.findByText('No comments yet.');
    expect(sent).toEqual(['the bump here']);

    // The next comment is typed before the first one's answer arrives.
    await userEvent.clear(box);
    await userEvent.type(box, 'why sgd?');
    answer?.();
    await expect.poll(() => screen.getByRole('button', { name: 'Comment' }).hasAttribute('data-loading')).toBe(false);
    expect(box).toHaveValue('why sgd?');

    await userEvent.click(screen.getByRole('button', { name: 'Comment' }));
    await expect.poll(() => sent).toEqual(['the bump here', 'why sgd?']);
    answer?.();
    await expect.poll(() => (box as HTMLTextAreaElement).value).toBe('');
  });
});
