import { fireEvent, render, screen } from "@testing-library/react-native";
import { CropEditor } from "../components/crop-editor";
import { Badge, Button, ProgressBar } from "../components/ui";
import { fullQuad } from "../src/geometry";
import type { Page } from "../src/image";

const page: Page = { uri: "file:///p.jpg", size: { width: 400, height: 300 }, turns: 0, quad: fullQuad({ width: 400, height: 300 }), name: "p" };

describe("components", () => {
  it("a button answers a tap unless it is disabled", async () => {
    const onPress = jest.fn();
    const { rerender } = await render(<Button label="Send" onPress={onPress} />);
    await fireEvent.press(screen.getByRole("button", { name: "Send" }));
    expect(onPress).toHaveBeenCalledTimes(1);
    await rerender(<Button label="Send" onPress={onPress} disabled />);
    await fireEvent.press(screen.getByRole("button", { name: "Send" }));
    expect(onPress).toHaveBeenCalledTimes(1);
  });

  it("the progress bar says how far the upload is", async () => {
    await render(<ProgressBar fraction={0.42} label="Upload progress" />);
    expect(screen.getByLabelText("Upload progress").props.accessibilityValue).toEqual({ min: 0, max: 100, now: 42 });
  });

  it("a badge reads as words", async () => {
    await render(<Badge label="needs_review" />);
    expect(screen.getByText("needs review")).toBeTruthy();
  });

  it("the crop editor shows four draggable corners only while cropping", async () => {
    const onQuad = jest.fn();
    const { rerender } = await render(<CropEditor page={page} zoom={1} cropping={false} onQuad={onQuad} />);
    await fireEvent(screen.getByTestId("preview"), "layout", { nativeEvent: { layout: { width: 400, height: 300 } } });
    expect(screen.queryByTestId("corner-0")).toBeNull();
    await rerender(<CropEditor page={page} zoom={1} cropping onQuad={onQuad} />);
    expect(screen.getAllByLabelText(/Crop corner/)).toHaveLength(4);
    expect(screen.getByLabelText("Page preview")).toBeTruthy();
  });
});
