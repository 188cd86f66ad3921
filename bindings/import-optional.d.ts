export declare const importOptional: (name: string) => Promise<unknown>;
