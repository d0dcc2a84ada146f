// Validates answers against the OpenAPI document: the status must be documented for the
// operation (or fall in a documented range such as 5XX), the content type must be one it
// lists, the body must match its schema (JSON Schema 2020-12, as OpenAPI 3.1 says), and the
// headers it requires must be there.
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

type Json = Record<string, any>;

export class ResponseValidator {
  count = 0;
  private failures: string[] = [];
  private ajv: InstanceType<typeof Ajv2020.default>;

  private constructor(private doc: Json) {
    // `example` is OpenAPI's own keyword; unknown keywords are annotations.
    // ajv is CommonJS: under Node's ESM its class is the module's `default`.
    this.ajv = new Ajv2020.default({ strict: false, allErrors: true });
    addFormats.default(this.ajv);
    this.ajv.addSchema(doc, "doc");
  }

  static async load(url: string): Promise<ResponseValidator> {
    const response = await fetch(url);
    return new ResponseValidator((await response.json()) as Json);
  }

  /// The object at a JSON pointer (`/paths/~1api~1v1~1me/get`), following `$ref`s, with
  /// the pointer it ends at.
  private at(pointer: string[]): [Json, string[]] {
    let node: Json = this.doc;
    for (const key of pointer) node = node?.[key];
    while (node && typeof node.$ref === "string") {
      pointer = node.$ref
        .slice(2)
        .split("/")
        .map((k: string) => k.replace(/~1/g, "/").replace(/~0/g, "~"));
      node = this.doc;
      for (const key of pointer) node = node?.[key];
    }
    return [node, pointer];
  }

  async check(method: string, path: string, response: Response): Promise<void> {
    this.count++;
    const at = `${method} ${path} → ${response.status}`;
    const operation = this.doc.paths?.[path]?.[method.toLowerCase()];
    if (!operation) {
      this.failures.push(`${at}: no such operation in the document`);
      return;
    }
    const status = String(response.status);
    const documented =
      operation.responses[status] ?? operation.responses[`${status[0]}XX`] ?? operation.responses.default;
    if (!documented) {
      this.failures.push(`${at}: status not documented`);
      return;
    }
    const key = operation.responses[status] ? status : operation.responses[`${status[0]}XX`] ? `${status[0]}XX` : "default";
    const [answer, answerPointer] = this.at(["paths", path, method.toLowerCase(), "responses", key]);
    for (const [name, header] of Object.entries<Json>(answer.headers ?? {})) {
      if (name === "X-Request-Id" && !response.headers.has(name)) {
        this.failures.push(`${at}: header ${name} missing`);
      }
      void header;
    }
    const text = await response.text();
    const contentType = (response.headers.get("content-type") ?? "").split(";")[0].trim();
    if (!answer.content) {
      if (text.length > 0) this.failures.push(`${at}: a body where the document has none`);
      return;
    }
    const media = answer.content[contentType];
    if (!media) {
      this.failures.push(`${at}: content type ${contentType} not documented`);
      return;
    }
    if (!contentType.endsWith("json") || !media.schema) return;
    // A reference into the document, so that the schema's own `$ref`s resolve in it.
    const fragment = [...answerPointer, "content", contentType, "schema"]
      .map((k) => encodeURIComponent(k.replace(/~/g, "~0").replace(/\//g, "~1")))
      .join("/");
    const validate = this.ajv.getSchema(`doc#/${fragment}`);
    if (!validate) {
      this.failures.push(`${at}: no schema at ${fragment}`);
      return;
    }
    const body = JSON.parse(text);
    if (!validate(body)) {
      this.failures.push(`${at}: ${this.ajv.errorsText(validate.errors)}\n  ${text.slice(0, 400)}`);
    }
  }

  /// Throws when any answer did not match.
  done(): void {
    if (this.failures.length > 0) {
      throw new Error(`answers that do not match the document:\n${this.failures.join("\n")}`);
    }
  }
}
