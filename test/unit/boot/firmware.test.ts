import { describe, expect, it } from 'vitest';
import { FIRMWARES, firmwareFor } from '../../../src/boot/firmware.js';

describe('firmwareFor', () => {
  it('boots an image with the firmware a cloud gives its layout', () => {
    expect(firmwareFor('uefi-secure-boot')).toBe('secure-boot');
    expect(firmwareFor('uefi')).toBe('uefi');
    // Nova boots with BIOS unless hw_firmware_type says otherwise, which a layout that boots both does not set.
    expect(firmwareFor('both')).toBe('bios');
    expect(firmwareFor('bios')).toBe('bios');
    expect(firmwareFor(null)).toBe('bios');
  });

  it("enforces Secure Boot with Microsoft's keys: OVMF's .ms files, SMM and a secure flash", () => {
    expect(FIRMWARES['secure-boot']).toEqual({
      ovmf: { code: 'OVMF_CODE_4M.ms.fd', vars: 'OVMF_VARS_4M.ms.fd' },
      machine: 'q35,smm=on',
      args: ['-global', 'driver=cfi.pflash01,property=secure,value=on'],
    });
    expect(FIRMWARES.uefi.ovmf).toEqual({ code: 'OVMF_CODE_4M.fd', vars: 'OVMF_VARS_4M.fd' });
    expect(FIRMWARES.bios.ovmf).toBeNull();
  });
});
