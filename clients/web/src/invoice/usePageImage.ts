import { useQuery } from "@tanstack/react-query";
import { ApiError, errorFromResponse } from "@invoicer/sdk";
import { useEffect } from "react";
import { session } from "../app/api";

export interface PageImage {
  url: string;
  /** The page's own size: the space the extraction's boxes are in. */
  width: number;
  height: number;
}

/** One page as an image (fetched with the access token, shown through a blob: URL). */
export function usePageImage(invoiceId: string, page: number, version: string, width = 1000) {
  const query = useQuery({
    queryKey: ["invoice", invoiceId, "page", page, width, version],
    staleTime: Infinity,
    gcTime: 60_000,
    queryFn: async (): Promise<PageImage> => {
      const response = await session.fetch(
        new Request(`/api/v1/invoices/${encodeURIComponent(invoiceId)}/pages/${page}?width=${width}`, {
          headers: { Accept: "image/webp,image/png" },
        }),
      );
      if (!response.ok) throw await errorFromResponse(response);
      const blob = await response.blob();
      const pageWidth = Number(response.headers.get("X-Page-Width"));
      const pageHeight = Number(response.headers.get("X-Page-Height"));
      const url = URL.createObjectURL(blob);
      const size = await new Promise<{ width: number; height: number }>((resolve) => {
        const image = new Image();
        image.onload = () => resolve({ width: image.naturalWidth, height: image.naturalHeight });
        image.onerror = () => resolve({ width, height: width * 1.414 });
        image.src = url;
      });
      // Without the headers, boxes are taken to be in the image's own pixels.
      return {
        url,
        width: pageWidth > 0 ? pageWidth : size.width,
        height: pageHeight > 0 ? pageHeight : size.height,
      };
    },
    retry: (failures, error) => !(error instanceof ApiError) && failures < 2,
  });
  const url = query.data?.url;
  useEffect(() => () => {
    if (url) URL.revokeObjectURL(url);
  }, [url]);
  return query;
}
