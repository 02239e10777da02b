/**
 * Preview of one page: turned as it will be sent, zoomable, with four corners to drag onto the paper's edges.
 * All the maths is in src/geometry.ts; this only maps fingers to it.
 */
import { useMemo, useRef, useState } from "react";
import { Image, PanResponder, StyleSheet, View, type LayoutChangeEvent } from "react-native";
import { fitView, moveCorner, type Point, type Quad, rotatedSize, type Size, toImage, toScreen } from "../src/geometry";
import type { Page } from "../src/image";
import { colors } from "./ui";

const HANDLE = 44;

function Corner({
  index,
  at,
  onDrag,
}: {
  index: number;
  at: Point;
  onDrag: (index: number, start: Point, dx: number, dy: number) => void;
}) {
  const start = useRef(at);
  const latest = useRef(at);
  latest.current = at;
  const responder = useMemo(
    () =>
      PanResponder.create({
        onStartShouldSetPanResponder: () => true,
        onMoveShouldSetPanResponder: () => true,
        onPanResponderGrant: () => {
          start.current = latest.current;
        },
        onPanResponderMove: (_, gesture) => onDrag(index, start.current, gesture.dx, gesture.dy),
      }),
    [index, onDrag],
  );
  return (
    <View
      {...responder.panHandlers}
      accessibilityLabel={`Crop corner ${index + 1}`}
      testID={`corner-${index}`}
      style={[styles.handle, { left: at.x - HANDLE / 2, top: at.y - HANDLE / 2 }]}
    >
      <View style={styles.dot} />
    </View>
  );
}

export function CropEditor({
  page,
  zoom,
  cropping,
  onQuad,
}: {
  page: Page;
  zoom: number;
  cropping: boolean;
  onQuad: (quad: Quad) => void;
}) {
  const [box, setBox] = useState<Size>({ width: 0, height: 0 });
  const turned = rotatedSize(page.size, page.turns);
  const view = box.width > 0 ? fitView(turned, box, zoom) : null;
  const pageRef = useRef(page);
  pageRef.current = page;
  const viewRef = useRef(view);
  viewRef.current = view;

  const onDrag = useMemo(
    () => (index: number, start: Point, dx: number, dy: number) => {
      const current = pageRef.current;
      const currentView = viewRef.current;
      if (!current.quad || !currentView) return;
      const size = rotatedSize(current.size, current.turns);
      onQuad(moveCorner(current.quad, index, toImage({ x: start.x + dx, y: start.y + dy }, currentView), size));
    },
    [onQuad],
  );

  const onLayout = (event: LayoutChangeEvent) => {
    const { width, height } = event.nativeEvent.layout;
    setBox({ width, height });
  };

  const corners = view && cropping && page.quad ? page.quad.map((p) => toScreen(p, view)) : [];
  const imageWidth = view ? page.size.width * view.scale : 0;
  const imageHeight = view ? page.size.height * view.scale : 0;
  return (
    <View style={styles.box} onLayout={onLayout} testID="preview">
      {view && (
        <Image
          source={{ uri: page.uri }}
          accessibilityLabel="Page preview"
          resizeMode="stretch"
          style={{
            position: "absolute",
            width: imageWidth,
            height: imageHeight,
            left: box.width / 2 - imageWidth / 2,
            top: box.height / 2 - imageHeight / 2,
            transform: [{ rotate: `${page.turns * 90}deg` }],
          }}
        />
      )}
      {corners.length === 4 && (
        <>
          {corners.map((point, index) => {
            const next = corners[(index + 1) % 4]!;
            const length = Math.hypot(next.x - point.x, next.y - point.y);
            const angle = Math.atan2(next.y - point.y, next.x - point.x);
            return (
              <View
                key={`edge-${index}`}
                pointerEvents="none"
                style={[
                  styles.edge,
                  {
                    width: length,
                    left: (point.x + next.x) / 2 - length / 2,
                    top: (point.y + next.y) / 2 - 1,
                    transform: [{ rotate: `${angle}rad` }],
                  },
                ]}
              />
            );
          })}
          {corners.map((point, index) => (
            <Corner key={`corner-${index}`} index={index} at={point} onDrag={onDrag} />
          ))}
        </>
      )}
    </View>
  );
}

const styles = StyleSheet.create({
  box: { height: 420, backgroundColor: "#1f2330", borderRadius: 12, overflow: "hidden" },
  handle: { position: "absolute", width: HANDLE, height: HANDLE, alignItems: "center", justifyContent: "center" },
  dot: { width: 20, height: 20, borderRadius: 10, backgroundColor: colors.accent, borderWidth: 3, borderColor: "#fff" },
  edge: { position: "absolute", height: 2, backgroundColor: colors.accent },
});
