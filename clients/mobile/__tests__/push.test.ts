import type { ApiClient } from "@invoicer/sdk";
import { registerForPush } from "../src/push";

describe("push registration on a phone", () => {
  it("without an Expo project id there is no push token to register, and the API is not called", async () => {
    const api = { POST: jest.fn(), DELETE: jest.fn() } as unknown as ApiClient;
    await expect(registerForPush(api)).resolves.toBeNull();
    expect((api as unknown as { POST: jest.Mock }).POST).not.toHaveBeenCalled();
  });
});
