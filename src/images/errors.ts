/** The image builder's one error type; its message tells the user what to do. */
export class ImageBuildError extends Error {
  override readonly name = "ImageBuildError";
}
