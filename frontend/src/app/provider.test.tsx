import { Modal } from '@mantine/core';
import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import { renderWithProviders } from '@/testing/test-utils';

describe('AppProvider', () => {
  it('opens dialogs without the scroll lock, whose <style> tag the CSP would block', async () => {
    renderWithProviders(
      <Modal opened onClose={() => undefined} title="Dialog">
        Body
      </Modal>,
    );

    expect(await screen.findByRole('dialog', { name: 'Dialog' })).toBeInTheDocument();
    expect(document.querySelectorAll('style')).toHaveLength(0);
  });
});
