using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;

namespace ContributiAutomatici.Engine.Compiling;

/// <summary>
/// Checks a compiled rule assembly before it is loaded, by reading its metadata only (System.Reflection.Metadata;
/// nothing of it runs): its name, the assemblies it references, every type and member it references (against the
/// rule language's allow-list, <see cref="RuleSandbox.AllowedMember"/>, plus the few members the generated class
/// itself needs), no native code or P/Invoke, and no IL instruction outside what the compiler emits for rules.
/// An assembly from the cache is loaded only if this finds nothing.
/// </summary>
internal static class RuleAssemblyVerifier
{
    private static readonly HashSet<string> AllowedAssemblyReferences =
        ["System.Runtime", "System.Private.CoreLib", "System.Linq", "System.Collections", "System.Memory", "ContributiAutomatici.Engine"];

    private static readonly string RuleScopeName = typeof(RuleScope).FullName!;

    /// <summary>Members of the rule scope the generated class calls besides the helpers (see RoslynEmitter.Generate).</summary>
    private static readonly HashSet<string> ScopeInfrastructure =
        [".ctor", "Work", "Claimant", "CurrentCell", "CurrentExpression", "CurrentWindow", "EnterWindow", "LeaveWindow", "Use", "Fmt",
         "Per", "Tiers", "TiersOf", "InWindow", "SumInWindow", "TiersInWindow", "Between", "Within", "Slot", "Festivals", "Prizes", "Markets", "ContractBefore",
         "NonZero", "TraceCell", "TraceDone"];

    /// <summary>What the compiler emits around the rule expressions: the class, lambdas, explanations, attributes ("Type::Member").</summary>
    private static readonly HashSet<string> Infrastructure =
    [
        "System.Object::.ctor",
        "System.Attribute::.ctor",
        "System.Func`1::.ctor",
        "System.Func`2::.ctor",
        "System.Runtime.CompilerServices.DecimalConstantAttribute::.ctor",
        "System.ArgumentOutOfRangeException::.ctor",
        "System.Collections.Generic.List`1::Add",
        "System.Collections.Generic.KeyValuePair`2::.ctor",
        "System.ValueTuple`2::.ctor",
        // a scale's bands, built once when the class is created (RuleCompiler.ScaleFields); a rule cannot call it (RuleSandbox)
        "ContributiAutomatici.Engine.Model.Scale::Of",
        "System.ValueTuple`3::.ctor",
        "System.ReadOnlySpan`1::.ctor",
        "System.Runtime.CompilerServices.RuntimeHelpers::CreateSpan",
        "System.Runtime.CompilerServices.CompilationRelaxationsAttribute::.ctor",
        "System.Runtime.CompilerServices.RuntimeCompatibilityAttribute::.ctor",
        "System.Runtime.CompilerServices.RuntimeCompatibilityAttribute::WrapNonExceptionThrows",
        "System.Runtime.CompilerServices.CompilerGeneratedAttribute::.ctor",
        "System.Runtime.CompilerServices.InlineArrayAttribute::.ctor",
        "System.Runtime.CompilerServices.Unsafe::As",
        "System.Runtime.CompilerServices.Unsafe::AsRef",
        "System.Runtime.CompilerServices.Unsafe::Add",
        "System.Runtime.InteropServices.MemoryMarshal::CreateReadOnlySpan",
        "System.Runtime.InteropServices.MemoryMarshal::CreateSpan",
        "System.Diagnostics.DebuggableAttribute::.ctor",
        "System.Runtime.CompilerServices.RefSafetyRulesAttribute::.ctor",
        "System.Runtime.CompilerServices.NullableContextAttribute::.ctor",
        "System.Runtime.CompilerServices.NullableAttribute::.ctor",
        "System.Runtime.CompilerServices.IsReadOnlyAttribute::.ctor",
        "System.Decimal::Zero",
        "System.Decimal::One",
        "System.Decimal::MinusOne",
        "System.AttributeUsageAttribute::.ctor",
        "System.AttributeUsageAttribute::AllowMultiple",
        "System.AttributeUsageAttribute::Inherited",
    ];

    /// <summary>Types referenced only as the holders of <see cref="Infrastructure"/> members, attribute targets or signatures.</summary>
    private static readonly HashSet<string> InfrastructureTypes =
    [
        "System.Object", "System.ValueType", "System.Attribute", "System.AttributeTargets", "System.Func`1", "System.Func`2", "System.Byte", "System.Type",
        "System.Runtime.CompilerServices.DecimalConstantAttribute",
        "System.ArgumentOutOfRangeException", "System.Collections.Generic.List`1", "System.Collections.Generic.KeyValuePair`2",
        "System.ReadOnlySpan`1", "System.Span`1", "System.RuntimeFieldHandle", "System.Void", "System.Runtime.CompilerServices.RuntimeHelpers",
        "System.Runtime.CompilerServices.CompilationRelaxationsAttribute", "System.Runtime.CompilerServices.RuntimeCompatibilityAttribute",
        "System.Runtime.CompilerServices.CompilerGeneratedAttribute", "System.Runtime.CompilerServices.InlineArrayAttribute",
        "System.Runtime.CompilerServices.Unsafe", "System.Runtime.InteropServices.MemoryMarshal",
        "System.Diagnostics.DebuggableAttribute", "System.Diagnostics.DebuggableAttribute+DebuggingModes", "System.AttributeUsageAttribute",
        "System.Runtime.CompilerServices.RefSafetyRulesAttribute", "System.Runtime.CompilerServices.NullableContextAttribute",
        "System.Runtime.CompilerServices.NullableAttribute", "System.Runtime.CompilerServices.IsReadOnlyAttribute",
        "System.Math", "System.Linq.Enumerable", RuleScopeName,
    ];

    /// <summary>
    /// The reasons the image may not be loaded as the rule set <paramref name="expectedName"/>; empty when it may.
    /// Never throws on a malformed image: that is a reason too.
    /// </summary>
    public static IReadOnlyList<string> Check(byte[] image, string expectedName)
    {
        var problems = new List<string>();
        try
        {
            using var pe = new PEReader(ImmutableArray.Create(image));
            if (!pe.HasMetadata) return ["not a .NET assembly"];
            if (pe.PEHeaders.CorHeader is { } cor && (cor.Flags & CorFlags.ILOnly) == 0) problems.Add("contains native code (not IL only)");
            var md = pe.GetMetadataReader();
            if (!md.IsAssembly) return ["not an assembly"];
            var name = md.GetString(md.GetAssemblyDefinition().Name);
            if (name != expectedName) problems.Add($"assembly name '{name}', expected '{expectedName}'");
            foreach (var h in md.AssemblyReferences)
            {
                var r = md.GetString(md.GetAssemblyReference(h).Name);
                if (!AllowedAssemblyReferences.Contains(r)) problems.Add($"references assembly '{r}'");
            }
            if (md.GetTableRowCount(TableIndex.ModuleRef) > 0) problems.Add("references native modules (P/Invoke)");
            if (md.GetTableRowCount(TableIndex.ImplMap) > 0) problems.Add("declares P/Invoke methods");
            if (md.GetTableRowCount(TableIndex.File) > 0 || md.GetTableRowCount(TableIndex.ManifestResource) > 0)
                problems.Add("has other files or resources");

            var types = new TypeNames(md);
            foreach (var h in md.TypeReferences)
            {
                var t = types.Reference(h);
                if (!AllowedType(t)) problems.Add($"references type '{t}'");
            }
            for (var row = 1; row <= md.GetTableRowCount(TableIndex.TypeSpec); row++)
                foreach (var t in types.InSignature(md.GetTypeSpecification(MetadataTokens.TypeSpecificationHandle(row)).Signature))
                    if (!AllowedType(t)) problems.Add($"references type '{t}'");
            foreach (var h in md.MemberReferences)
            {
                var m = md.GetMemberReference(h);
                var owner = types.Owner(m.Parent);
                var member = md.GetString(m.Name);
                var signature = m.GetKind() == MemberReferenceKind.Method ? types.MethodSignature(m.Signature) : [];
                if (!AllowedMember(owner, member, m.GetKind(), signature)) problems.Add($"references '{owner}.{member}'");
            }
            for (var row = 1; row <= md.GetTableRowCount(TableIndex.MethodSpec); row++)
                foreach (var t in types.InSignature(md.GetMethodSpecification(MetadataTokens.MethodSpecificationHandle(row)).Signature))
                    if (!AllowedType(t)) problems.Add($"instantiates a method with '{t}'");
            var calls = new List<int>[md.GetTableRowCount(TableIndex.MethodDef) + 1];
            calls[0] = [];
            foreach (var h in md.MethodDefinitions)
            {
                var def = md.GetMethodDefinition(h);
                if ((def.ImplAttributes & (MethodImplAttributes.InternalCall | MethodImplAttributes.Native | MethodImplAttributes.Unmanaged)) != 0 ||
                    (def.Attributes & MethodAttributes.PinvokeImpl) != 0)
                    problems.Add($"method '{md.GetString(def.Name)}' is not managed IL");
                var callees = calls[MetadataTokens.GetRowNumber(h)] = [];
                if (def.RelativeVirtualAddress != 0)
                    CheckIl(pe.GetMethodBody(def.RelativeVirtualAddress).GetILBytes(), md.GetString(def.Name), problems, callees, md);
            }
            if (FindCycle(calls) is { } cycle)
                problems.Add($"method '{md.GetString(md.GetMethodDefinition(MetadataTokens.MethodDefinitionHandle(cycle)).Name)}' can call itself (recursion)");
        }
        catch (Exception ex) when (ex is BadImageFormatException or InvalidOperationException or ArgumentException or IndexOutOfRangeException)
        {
            problems.Add("malformed metadata: " + ex.Message);
        }
        return problems.Distinct().Take(20).ToList();
    }

    private static bool AllowedType(string t) =>
        t.Length == 0 || t == "T" || InfrastructureTypes.Contains(t) || RuleSandbox.AllowedTypeName(t, asValue: false) ||
        t.StartsWith('<'); // the assembly's own compiler-generated types (<PrivateImplementationDetails>, <>c)

    private static bool AllowedMember(string owner, string member, MemberReferenceKind kind, string[] signature)
    {
        if (owner == RuleScopeName) return ScopeInfrastructure.Contains(Bare(member));
        if (Infrastructure.Contains(owner + "::" + Bare(member))) return true;
        var memberKind = kind == MemberReferenceKind.Field ? MemberKind.Field
            : member.StartsWith("get_", StringComparison.Ordinal) ? MemberKind.Property
            : member == ".ctor" ? MemberKind.Constructor
            : member.StartsWith("op_", StringComparison.Ordinal) ? MemberKind.Operator
            : MemberKind.Method;
        return RuleSandbox.AllowedMember(owner, Bare(member), memberKind, signature);
    }

    /// <summary>A property accessor by its property's name: get_Count is Count.</summary>
    private static string Bare(string member) =>
        member.StartsWith("get_", StringComparison.Ordinal) || member.StartsWith("set_", StringComparison.Ordinal) ? member[4..] : member;

    /// <summary>
    /// Walks the IL of one method: every instruction must be one the compiler emits for a rule expression. Refused:
    /// indirect calls (calli), jmp, stack allocation, raw memory access, varargs and typed references, function
    /// pointers to anything but the assembly's own methods (lambdas), and backward branches (loops). Calls to the
    /// assembly's own methods are collected for the recursion check.
    /// </summary>
    private static void CheckIl(byte[]? il, string method, List<string> problems, List<int> callees, MetadataReader md)
    {
        if (il is null) return;
        var i = 0;
        while (i < il.Length)
        {
            var start = i;
            int op = il[i++];
            if (op == 0xFE)
            {
                if (i >= il.Length) { problems.Add($"{method}: truncated IL"); return; }
                op = 0xFE00 | il[i++];
            }
            var refused = op switch
            {
                0x27 => "jmp", 0x29 => "calli", 0xC2 => "refanyval", 0xC6 => "mkrefany",
                0xFE00 => "arglist", 0xFE07 => "ldvirtftn", 0xFE0F => "localloc", 0xFE17 => "cpblk", 0xFE18 => "initblk",
                0xFE1D => "refanytype",
                >= 0x46 and <= 0x57 => "ldind/stind (raw memory access)",
                _ => null,
            };
            if (refused is not null) { problems.Add($"{method}: IL instruction {refused}"); return; }
            if (op == 0xFE06 && i + 4 <= il.Length && il[i + 3] != 0x06) // ldftn: only a MethodDef (table 0x06) of this assembly
            {
                problems.Add($"{method}: ldftn to a method of another assembly");
                return;
            }
            var size = OperandSize(op, il, i);
            if (size < 0 || i + size > il.Length) { problems.Add($"{method}: unknown or truncated IL at {start}"); return; }
            // Rules never loop: every branch goes forward (a backward one could spin for ever).
            var backward = op switch
            {
                >= 0x2B and <= 0x37 or 0xDE => (sbyte)il[i] < 0,
                >= 0x38 and <= 0x44 or 0xDD => BitConverter.ToInt32(il, i) < 0,
                0x45 => AnyBackwardTarget(il, i),
                _ => false,
            };
            if (backward) { problems.Add($"{method}: a backward branch (a loop) at IL offset {start}"); return; }
            // Calls, object creations and function pointers to the assembly's own methods: the call graph, checked for cycles.
            if (op is 0x28 or 0x6F or 0x73 or 0xFE06)
            {
                var token = BitConverter.ToInt32(il, i);
                var handle = MetadataTokens.EntityHandle(token);
                if (handle.Kind == HandleKind.MethodSpecification) handle = md.GetMethodSpecification((MethodSpecificationHandle)handle).Method;
                if (handle.Kind == HandleKind.MethodDefinition) callees.Add(MetadataTokens.GetRowNumber(handle));
            }
            i += size;
        }
    }

    /// <summary>Whether a switch (its operand at <paramref name="at"/>: a count, then the targets) jumps backward.</summary>
    private static bool AnyBackwardTarget(byte[] il, int at)
    {
        var count = BitConverter.ToInt32(il, at);
        for (var k = 0; k < count; k++)
            if (BitConverter.ToInt32(il, at + 4 + 4 * k) < 0) return true;
        return false;
    }

    /// <summary>
    /// A method on a cycle of the call graph (recursion, direct or through a lambda), or null. Methods are numbered by
    /// their rows (1..n); plain arrays, an explicit stack of (method, next callee) pairs.
    /// </summary>
    private static int? FindCycle(List<int>[] calls)
    {
        var state = new byte[calls.Length]; // 1: on the current path, 2: done
        var nodes = new int[calls.Length];
        var nexts = new int[calls.Length];
        for (var root = 1; root < calls.Length; root++)
        {
            if (state[root] != 0) continue;
            var depth = 0;
            nodes[0] = root;
            nexts[0] = 0;
            state[root] = 1;
            while (depth >= 0)
            {
                var node = nodes[depth];
                var edges = calls[node];
                if (nexts[depth] < edges.Count)
                {
                    var to = edges[nexts[depth]++];
                    if (to <= 0 || to >= calls.Length) continue; // not a method of this assembly's table
                    if (state[to] == 1) return to;
                    if (state[to] == 0)
                    {
                        state[to] = 1;
                        depth++;
                        nodes[depth] = to;
                        nexts[depth] = 0;
                    }
                }
                else
                {
                    state[node] = 2;
                    depth--;
                }
            }
        }
        return null;
    }

    private static int OperandSize(int op, byte[] il, int at) => op switch
    {
        0x45 => at + 4 <= il.Length ? 4 + 4 * BitConverter.ToInt32(il, at) : il.Length, // switch
        0x21 or 0x23 => 8,
        >= 0x0E and <= 0x13 or 0x1F or >= 0x2B and <= 0x37 or 0xDE or 0xFE12 => 1,
        >= 0xFE09 and <= 0xFE0E => 2,
        0x20 or 0x22 or 0x28 or >= 0x38 and <= 0x44 or 0x6F or >= 0x70 and <= 0x75 or 0x79 or >= 0x7B and <= 0x81 or 0x8C or 0x8D
            or 0x8F or >= 0xA3 and <= 0xA5 or 0xC2 or 0xC6 or 0xD0 or 0xDD or 0xFE06 or 0xFE15 or 0xFE16 or 0xFE1C => 4,
        <= 0x0D or >= 0x14 and <= 0x1E or 0x25 or 0x26 or 0x2A or >= 0x58 and <= 0x6E or >= 0x76 and <= 0x7A and not 0x79
            or 0x82 or >= 0x83 and <= 0x8B or 0x8E or >= 0x90 and <= 0xA2 or >= 0xB3 and <= 0xBA or 0xC3 or >= 0xD1 and <= 0xDC
            or 0xDF or 0xE0 or 0xFE01 or 0xFE02 or 0xFE03 or 0xFE04 or 0xFE05 or 0xFE11 or 0xFE13 or 0xFE14 or 0xFE19 or 0xFE1A or 0xFE1E => 0,
        _ => -1,
    };

    /// <summary>Full names of referenced types, and the names a signature mentions (generic instantiations by their definition, type parameters as "T").</summary>
    private sealed class TypeNames(MetadataReader md) : ISignatureTypeProvider<string, object?>
    {
        private List<string>? _collect;

        public string Reference(TypeReferenceHandle h)
        {
            var r = md.GetTypeReference(h);
            var name = md.GetString(r.Name);
            return r.ResolutionScope.Kind == HandleKind.TypeReference
                ? Reference((TypeReferenceHandle)r.ResolutionScope) + "+" + name
                : (r.Namespace.IsNil ? "" : md.GetString(r.Namespace) + ".") + name;
        }

        private string Definition(TypeDefinitionHandle h)
        {
            var d = md.GetTypeDefinition(h);
            var name = md.GetString(d.Name);
            var outer = d.GetDeclaringType();
            return !outer.IsNil ? Definition(outer) + "+" + name : (d.Namespace.IsNil ? "" : md.GetString(d.Namespace) + ".") + name;
        }

        public string Owner(EntityHandle parent) => parent.Kind switch
        {
            HandleKind.TypeReference => Reference((TypeReferenceHandle)parent),
            HandleKind.TypeDefinition => Definition((TypeDefinitionHandle)parent),
            HandleKind.TypeSpecification => md.GetTypeSpecification((TypeSpecificationHandle)parent).DecodeSignature(this, null),
            _ => "(" + parent.Kind + ")",
        };

        public List<string> InSignature(BlobHandle typeSpec)
        {
            _collect = [];
            try
            {
                var reader = md.GetBlobReader(typeSpec);
                var header = reader.ReadSignatureHeader();
                reader.Reset();
                if (header.Kind == SignatureKind.MethodSpecification)
                    foreach (var _ in new SignatureDecoder<string, object?>(this, md, null).DecodeMethodSpecificationSignature(ref reader)) { }
                else new SignatureDecoder<string, object?>(this, md, null).DecodeType(ref reader);
                return _collect;
            }
            finally { _collect = null; }
        }

        public string[] MethodSignature(BlobHandle signature)
        {
            var s = new SignatureDecoder<string, object?>(this, md, null).DecodeMethodSignature(ref Reader(signature));
            return [.. s.ParameterTypes, s.ReturnType];
        }

        private BlobReader _reader;
        private ref BlobReader Reader(BlobHandle h)
        {
            _reader = md.GetBlobReader(h);
            return ref _reader;
        }

        private string Seen(string name)
        {
            _collect?.Add(name);
            return name;
        }

        public string GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) => Seen(Reference(handle));
        public string GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) => Seen(Definition(handle));
        public string GetTypeFromSpecification(MetadataReader reader, object? genericContext, TypeSpecificationHandle handle, byte rawTypeKind) =>
            reader.GetTypeSpecification(handle).DecodeSignature(this, genericContext);
        public string GetGenericInstantiation(string genericType, ImmutableArray<string> typeArguments) => genericType;
        public string GetGenericMethodParameter(object? genericContext, int index) => "T";
        public string GetGenericTypeParameter(object? genericContext, int index) => "T";
        public string GetPrimitiveType(PrimitiveTypeCode typeCode) => Seen(typeCode switch
        {
            PrimitiveTypeCode.Boolean => "System.Boolean", PrimitiveTypeCode.Int32 => "System.Int32", PrimitiveTypeCode.Int64 => "System.Int64",
            PrimitiveTypeCode.String => "System.String", PrimitiveTypeCode.Object => "System.Object", PrimitiveTypeCode.Void => "System.Void",
            PrimitiveTypeCode.Byte => "System.Byte",
            _ => "System." + typeCode,
        });
        public string GetArrayType(string elementType, ArrayShape shape) => Seen(elementType + "[,]");
        public string GetSZArrayType(string elementType) => Seen(elementType + "[]");
        public string GetByReferenceType(string elementType) => elementType;
        public string GetPointerType(string elementType) => Seen(elementType + "*");
        public string GetFunctionPointerType(MethodSignature<string> signature) => Seen("method pointer");
        public string GetModifiedType(string modifier, string unmodifiedType, bool isRequired) => unmodifiedType;
        public string GetPinnedType(string elementType) => Seen("pinned " + elementType);
    }
}
